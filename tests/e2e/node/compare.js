// SPDX-License-Identifier: MIT
// Also: node compare.js --same A.jsonl B.jsonl (two receivers got the same spans).
// Compares what crosstrace received (`crosstrace receive --spans-json` lines, and the events
// of its trace directory as `crosstrace dump --format json` lines) with what each SDK app
// printed of its own spans. Usage: node compare.js RECEIVED.jsonl DUMP.jsonl APP.out...
// where each APP.out holds a "SPANS {pid, spans}" line (OTLP apps: the SDK's span records;
// Zipkin app: its Zipkin v2 JSON). Exits 1 listing every difference.
'use strict';
const fs = require('fs');

if (process.argv[2] === '--same') {
  // Two receivers' JSON lines hold the same spans (the sdk and clock-resolution fields say how
  // a span arrived, so they may differ).
  const read = (p) =>
    new Map(
      fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
        const s = JSON.parse(l);
        delete s.sdk;
        delete s.time_resolution_ns;
        return [s.span_id, s];
      }),
    );
  const a = read(process.argv[3]);
  const b = read(process.argv[4]);
  let diff = 0;
  for (const [id, s] of a) {
    if (JSON.stringify(s) !== JSON.stringify(b.get(id))) {
      diff++;
      console.error(`span ${id}: ${JSON.stringify(s)}\n  vs ${JSON.stringify(b.get(id))}`);
    }
  }
  if (a.size !== b.size) diff++;
  console.log(`${a.size} spans forwarded, ${b.size} arrived, ${diff} differences`);
  process.exit(diff || a.size === 0 ? 1 : 0);
}

const [receivedPath, dumpPath, ...apps] = process.argv.slice(2);
const received = new Map();
for (const line of fs.readFileSync(receivedPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const s = JSON.parse(line);
  received.set(s.span_id, s);
}
// The trace directory's events per span id; u64 fields are read as text (beyond 2^53).
const events = new Map();
for (const line of fs.readFileSync(dumpPath, 'utf8').split('\n')) {
  const m = /"ts":(\d+),"pid":(-?\d+),"tid":(-?\d+),"type":"(\w+)"/.exec(line);
  const sid = /"span_id":(\d+)/.exec(line);
  if (!m || !sid) continue;
  const id = BigInt(sid[1]).toString(16).padStart(16, '0');
  if (!events.has(id)) events.set(id, []);
  events.get(id).push({ ts: BigInt(m[1]), pid: Number(m[2]), type: m[4] });
}

let failures = 0;
let checked = 0;
function fail(app, span, what, want, got) {
  failures++;
  console.error(`${app}: span ${span}: ${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}
function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

const zipkinKinds = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };

for (const path of apps) {
  const line = fs.readFileSync(path, 'utf8').split('\n').find((l) => l.startsWith('SPANS '));
  if (!line) {
    failures++;
    console.error(`${path}: the app printed no SPANS line`);
    continue;
  }
  const { pid, spans } = JSON.parse(line.slice(6));
  const zipkin = spans.length > 0 && 'traceId' in spans[0];
  if (spans.length !== 3) fail(path, '-', 'spans printed by the app', 3, spans.length);
  for (const a of spans) {
    // Normalise the app's view to the receiver's fields.
    const want = zipkin
      ? {
          trace_id: a.traceId.padStart(32, '0'),
          span_id: a.id,
          parent_id: a.parentId || '',
          name: a.name,
          kind: zipkinKinds[a.kind] || 1,
          start_ns: (BigInt(a.timestamp) * 1000n).toString(),
          end_ns: ((BigInt(a.timestamp) + BigInt(a.duration || 0)) * 1000n).toString(),
          attributes: a.tags || {},
          events: (a.annotations || []).map((e) => ({
            name: e.value,
            time_ns: (BigInt(e.timestamp) * 1000n).toString(),
          })),
          service: a.localEndpoint.serviceName,
          pid: 0, // Zipkin carries no process id
        }
      : { ...a, pid };
    const got = received.get(want.span_id);
    checked++;
    if (!got) {
      fail(path, want.span_id, 'received', 'the span', 'nothing');
      continue;
    }
    for (const k of ['trace_id', 'parent_id', 'name', 'kind', 'start_ns', 'end_ns', 'service', 'pid']) {
      if (!same(want[k], got[k])) fail(path, want.span_id, k, want[k], got[k]);
    }
    for (const [k, v] of Object.entries(want.attributes)) {
      if (!same(v, got.attributes[k])) fail(path, want.span_id, `attribute ${k}`, v, got.attributes[k]);
    }
    const gotEvents = got.events.map((e) => ({ name: e.name, time_ns: e.time_ns }));
    const wantEvents = want.events.map((e) => ({ name: e.name, time_ns: e.time_ns }));
    if (!same(wantEvents, gotEvents)) fail(path, want.span_id, 'events', wantEvents, gotEvents);
    if (!zipkin && got.resource['process.pid'] !== pid) {
      fail(path, want.span_id, 'resource process.pid', pid, got.resource['process.pid']);
    }
    // In the trace directory: scope enter/exit on the app's pid, exactly the span's duration
    // apart (one clock offset converts both ends).
    const ev = events.get(want.span_id) || [];
    const enter = ev.find((e) => e.type === 'scope_enter');
    const exit = ev.find((e) => e.type === 'scope_exit');
    if (!enter || !exit || !ev.find((e) => e.type === 'span_start') || !ev.find((e) => e.type === 'span_end')) {
      fail(path, want.span_id, 'events in the trace directory', 'span_start, scope_enter/exit, span_end', ev.map((e) => e.type));
      continue;
    }
    if (enter.pid !== want.pid) fail(path, want.span_id, 'scope_enter pid', want.pid, enter.pid);
    const dur = BigInt(want.end_ns) - BigInt(want.start_ns);
    if (exit.ts - enter.ts !== dur) {
      fail(path, want.span_id, 'scope_exit - scope_enter (ns)', dur.toString(), (exit.ts - enter.ts).toString());
    }
  }
}
if (received.size !== checked) fail('all', '-', 'spans received', checked, received.size);
console.log(`${checked} spans compared, ${failures} differences`);
process.exit(failures ? 1 : 0);
