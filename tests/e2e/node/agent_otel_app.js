// SPDX-License-Identifier: MIT
// For the agent's end-to-end test: a Node.js app instrumented with @opentelemetry/sdk-node,
// exporting over OTLP/HTTP with the JSON exporter (argv[2] = "json") or the protobuf exporter
// ("proto") to argv[3] through a batch span processor. Inside its spans it reads the file
// argv[4] (a name the test chose, so that the agent's kernel annotation can be checked for
// it) and burns CPU. After shutdown (which flushes the exporter) it prints its own spans as
// one line "SPANS <json>": the oracle the test compares the agent's output with.
'use strict';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const api = require('@opentelemetry/api');
const { readAndHold, cpuWork } = require('./agent_workload');

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
      service: span.resource.attributes['service.name'],
    });
  },
  forceFlush() { return Promise.resolve(); },
  shutdown() { return Promise.resolve(); },
};

const sdk = new NodeSDK({
  serviceName: `agent-node-${kind}`,
  spanProcessors: [
    // Batched as in production, with a short delay so that the test does not wait 5 s.
    new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 200 }),
    printer,
  ],
  instrumentations: [],
});
sdk.start();

const tracer = api.trace.getTracer('crosstrace-agent-e2e', '1.0.0');
tracer.startActiveSpan('handle-request', { kind: api.SpanKind.SERVER }, (root) => {
  root.setAttributes({ 'http.route': '/orders/{id}', 'app.int': 7, 'app.double': 0.5, 'app.bool': false });
  tracer.startActiveSpan('read-file', (s) => {
    const n = readAndHold(file);
    s.setAttribute('file.path', file);
    s.setAttribute('file.bytes', n);
    s.end();
  });
  tracer.startActiveSpan('cpu-work', (s) => {
    s.setAttribute('work.digest', cpuWork(20000));
    s.end();
  });
  root.end();
});

sdk.shutdown().then(
  () => process.stdout.write(`SPANS ${JSON.stringify({ pid: process.pid, spans: recorded })}\n`),
  (err) => {
    console.error('shutdown failed', err);
    process.exit(1);
  },
);
