// SPDX-License-Identifier: MIT
// A Node.js app instrumented with @opentelemetry/sdk-node, exporting over OTLP/HTTP with the
// JSON exporter (argv[2] = "json") or the protobuf exporter ("proto") to argv[3]. A span
// processor of its own records every finished span; after shutdown (which flushes the
// exporter) the app prints them as one line "SPANS <json>": the oracle the test compares
// the receiver's output with.
'use strict';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const api = require('@opentelemetry/api');
const { readFile, cpuWork } = require('./workload');

const [kind, url, file] = process.argv.slice(2);
const { OTLPTraceExporter } =
  kind === 'proto'
    ? require('@opentelemetry/exporter-trace-otlp-proto')
    : require('@opentelemetry/exporter-trace-otlp-http');

const ns = (t) => (BigInt(t[0]) * 1000000000n + BigInt(t[1])).toString();
const recorded = [];
const printer = {
  onStart() {},
  onEnd(span) {
    const ctx = span.spanContext();
    const parent = span.parentSpanContext ? span.parentSpanContext.spanId : span.parentSpanId;
    recorded.push({
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
      parent_id: parent || '',
      name: span.name,
      kind: span.kind + 1, // the API's enum starts at INTERNAL = 0, OTLP's at UNSPECIFIED = 0
      start_ns: ns(span.startTime),
      end_ns: ns(span.endTime),
      attributes: span.attributes,
      events: span.events.map((e) => ({ name: e.name, time_ns: ns(e.time) })),
      status: span.status.code,
      service: span.resource.attributes['service.name'],
    });
  },
  forceFlush() { return Promise.resolve(); },
  shutdown() { return Promise.resolve(); },
};

const sdk = new NodeSDK({
  serviceName: `node-${kind}`,
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url })), printer],
  instrumentations: [],
});
sdk.start();

const tracer = api.trace.getTracer('crosstrace-e2e', '1.0.0');
tracer.startActiveSpan('handle-request', { kind: api.SpanKind.SERVER }, (root) => {
  root.setAttributes({
    'http.route': '/orders/{id}',
    'app.int': 42,
    'app.double': 2.5,
    'app.bool': true,
    'app.list': ['a', 'b'],
  });
  tracer.startActiveSpan('read-file', (s) => {
    const data = readFile(file);
    s.setAttribute('file.path', file);
    s.setAttribute('file.bytes', data.length);
    s.addEvent('read done', { bytes: data.length });
    s.end();
  });
  tracer.startActiveSpan('cpu-work', { kind: api.SpanKind.INTERNAL }, (s) => {
    s.setAttribute('work.digest', cpuWork(20000));
    s.end();
  });
  root.setStatus({ code: api.SpanStatusCode.OK });
  root.end();
});

sdk.shutdown().then(
  () => {
    process.stdout.write(`SPANS ${JSON.stringify({ pid: process.pid, spans: recorded })}\n`);
  },
  (err) => {
    console.error('shutdown failed', err);
    process.exit(1);
  },
);
