// SPDX-License-Identifier: MIT
// A Node.js app instrumented with zipkin + zipkin-transport-http, sending Zipkin v2 JSON to
// argv[2]. A logger wrapper records every span handed to the transport; once the transport
// reports success the app prints them as one line "SPANS <json>" (the test's oracle).
'use strict';
const { Tracer, BatchRecorder, ExplicitContext, jsonEncoder, Annotation } = require('zipkin');
const { HttpLogger } = require('zipkin-transport-http');
const { readFile, cpuWork } = require('./workload');

const [url, file] = process.argv.slice(2);
const http = new HttpLogger({ endpoint: url, jsonEncoder: jsonEncoder.JSON_V2, httpInterval: 100 });
const recorded = [];
const logger = {
  logSpan(span) {
    recorded.push(JSON.parse(jsonEncoder.JSON_V2.encode(span)));
    http.logSpan(span);
  },
};
const recorder = new BatchRecorder({ logger });
const tracer = new Tracer({
  ctxImpl: new ExplicitContext(),
  recorder,
  localServiceName: 'node-zipkin',
  traceId128Bit: true,
});

tracer.scoped(() => {
  const root = tracer.createRootId();
  tracer.letId(root, () => {
    tracer.recordServiceName('node-zipkin');
    tracer.recordRpc('handle-request');
    tracer.recordAnnotation(new Annotation.ServerRecv());
    tracer.recordBinary('http.route', '/orders/{id}');
    tracer.local('read-file', () => {
      const data = readFile(file);
      tracer.recordBinary('file.path', file);
      tracer.recordBinary('file.bytes', String(data.length));
      tracer.recordMessage('read done');
    });
    tracer.local('cpu-work', () => {
      tracer.recordBinary('work.digest', cpuWork(20000));
    });
    tracer.recordAnnotation(new Annotation.ServerSend());
  });
});

let printed = false;
http.on('success', () => {
  if (printed) return;
  printed = true;
  process.stdout.write(`SPANS ${JSON.stringify({ pid: process.pid, spans: recorded })}\n`);
  process.exit(0);
});
http.on('error', (err) => {
  console.error('zipkin transport error', err);
  process.exit(1);
});
recorder.flush && recorder.flush();
setTimeout(() => {
  console.error('no successful POST within 20 s');
  process.exit(1);
}, 20000);
setInterval(() => http.processQueue(http.fetchImplementation), 200);
