// SPDX-License-Identifier: MIT
// For the agent's end-to-end test: a Node.js app instrumented with zipkin +
// zipkin-transport-http sending Zipkin v2 JSON to argv[2]; inside its spans it reads the file
// argv[3] and burns CPU. Zipkin carries no process id: the agent finds this process as the
// owner of the TCP connection. Once the transport reports success it prints the spans it
// handed over as one line "SPANS <json>" (the test's oracle).
'use strict';
const { Tracer, BatchRecorder, ExplicitContext, jsonEncoder, Annotation } = require('zipkin');
const { HttpLogger } = require('zipkin-transport-http');
const { readAndHold, cpuWork } = require('./agent_workload');

const [url, file] = process.argv.slice(2);
const http = new HttpLogger({ endpoint: url, jsonEncoder: jsonEncoder.JSON_V2, httpInterval: 100 });
const recorded = [];
const logger = {
  logSpan(span) {
    recorded.push(JSON.parse(jsonEncoder.JSON_V2.encode(span)));
    http.logSpan(span);
  },
};
const tracer = new Tracer({
  ctxImpl: new ExplicitContext(),
  recorder: new BatchRecorder({ logger }),
  localServiceName: 'agent-node-zipkin',
  traceId128Bit: true,
});

tracer.scoped(() => {
  tracer.letId(tracer.createRootId(), () => {
    tracer.recordServiceName('agent-node-zipkin');
    tracer.recordRpc('handle-request');
    tracer.recordAnnotation(new Annotation.ServerRecv());
    tracer.recordBinary('http.route', '/orders/{id}');
    tracer.local('read-file', () => {
      const n = readAndHold(file);
      tracer.recordBinary('file.path', file);
      tracer.recordBinary('file.bytes', String(n));
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
setTimeout(() => {
  console.error('no successful POST within 20 s');
  process.exit(1);
}, 20000);
setInterval(() => http.processQueue(http.fetchImplementation), 200);
