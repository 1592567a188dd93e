// SPDX-License-Identifier: MIT
// Checks the output of `crosstrace agent` in its end-to-end test:
//   node agent_compare.js EXPORTED.jsonl FORWARDED.jsonl APP.out=FILE...
// EXPORTED.jsonl: the spans agent A exported (its --exported-json); FORWARDED.jsonl: what
// agent B received from A's exporter (its --received-json); each APP.out holds the app's
// "SPANS {pid, spans}" line and FILE the file that app read inside its read-file span.
// For every span an app printed, A's export must hold it unchanged (ids, parent, name, kind,
// times, attributes, service) with the app's pid as process.pid, annotated with the kernel
// activity of that pid (breakdown summing to the duration, time uncertainty stated), and the
// read-file span must have syscall child spans that opened and read FILE. B must have received
// exactly what A exported. Exits 1 listing every difference.
'use strict';
const fs = require('fs');

const [exportedPath, forwardedPath, ...apps] = process.argv.slice(2);
let failures = 0;
function fail(where, what, want, got) {
  failures++;
  console.error(`${where}: ${what}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const lines = (p) => fs.readFileSync(p, 'utf8').split('\n').filter((l) => l.trim());

const exported = lines(exportedPath).map((l) => JSON.parse(l));
const byId = new Map(exported.map((s) => [s.span_id, s]));
const children = new Map();
for (const s of exported) {
  if (!children.has(s.parent_id)) children.set(s.parent_id, []);
  children.get(s.parent_id).push(s);
}

const zipkinKinds = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };
const files = [];
let checked = 0;

for (const arg of apps) {
  const eq = arg.lastIndexOf('=');
  const path = arg.slice(0, eq);
  const file = arg.slice(eq + 1);
  files.push(file);
  const line = fs.readFileSync(path, 'utf8').split('\n').find((l) => l.startsWith('SPANS '));
  if (!line) {
    fail(path, 'SPANS line', 'printed by the app', 'nothing');
    continue;
  }
  const { pid, spans } = JSON.parse(line.slice(6));
  const zipkin = spans.length > 0 && 'traceId' in spans[0];
  if (spans.length !== 3) fail(path, 'spans printed', 3, spans.length);
  for (const a of spans) {
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
          service: a.localEndpoint.serviceName,
        }
      : a;
    const where = `${path} span ${want.name} ${want.span_id}`;
    const got = byId.get(want.span_id);
    checked++;
    if (!got) {
      fail(where, 'exported', 'the span', 'nothing');
      continue;
    }
    for (const k of ['trace_id', 'parent_id', 'name', 'kind', 'start_ns', 'end_ns', 'service']) {
      if (!same(want[k], got[k])) fail(where, k, want[k], got[k]);
    }
    for (const [k, v] of Object.entries(want.attributes)) {
      if (!same(v, got.attributes[k])) fail(where, `attribute ${k}`, v, got.attributes[k]);
    }
    if (got.resource['process.pid'] !== pid) {
      fail(where, 'resource process.pid', pid, got.resource['process.pid']);
    }
    // The annotation: kernel data of that pid, the whole process (no thread id), the
    // breakdown summing to the duration, the millisecond clock of JS SDKs stated.
    const at = got.attributes;
    if (at['crosstrace.annotation'] !== 'kernel') {
      fail(where, 'crosstrace.annotation', 'kernel', at['crosstrace.annotation']);
      continue;
    }
    if (!String(at['crosstrace.attribution']).startsWith(`process: `) ||
        !String(at['crosstrace.attribution']).includes(`pid ${pid} `)) {
      fail(where, 'crosstrace.attribution', `process: ... pid ${pid} ...`, at['crosstrace.attribution']);
    }
    let sum = 0n;
    for (const [k, v] of Object.entries(at)) {
      if (k.startsWith('crosstrace.time.')) sum += BigInt(v);
    }
    const dur = BigInt(want.end_ns) - BigInt(want.start_ns);
    if (sum !== dur) fail(where, 'sum of crosstrace.time.*_ns', dur.toString(), sum.toString());
    if (!(at['crosstrace.time_uncertainty_ns'] >= 1000000)) {
      fail(where, 'crosstrace.time_uncertainty_ns (JS: ms clock)', '>= 1000000', at['crosstrace.time_uncertainty_ns']);
    }
    if (want.name === 'read-file') {
      const calls = (children.get(want.span_id) || []).filter((c) => c.name.startsWith('syscall '));
      const on = (n) => calls.filter((c) => c.attributes['crosstrace.syscall.name'] === n &&
        c.attributes['crosstrace.syscall.target'] === file);
      if (!on('openat').length) fail(where, `syscall openat(${file}) child span`, 'present', calls.map((c) => c.name));
      if (!on('read').length) fail(where, `syscall read(${file}) child span`, 'present', calls.map((c) => c.name));
      for (const c of calls) {
        if (c.trace_id !== want.trace_id) fail(where, 'child trace_id', want.trace_id, c.trace_id);
        if (c.resource['process.pid'] !== pid) fail(where, 'child process.pid', pid, c.resource['process.pid']);
        // Entered while the span ran (a call may return after the span ended: its real end).
        if (BigInt(c.start_ns) < BigInt(want.start_ns) || BigInt(c.start_ns) >= BigInt(want.end_ns)) {
          fail(where, 'child entered within its parent', [want.start_ns, want.end_ns], c.start_ns);
        }
      }
    }
  }
}
// No app's file read shows up in another app's spans: kernel data went to the right pid.
for (const s of exported) {
  const t = s.attributes['crosstrace.syscall.target'];
  if (!t || !files.includes(t)) continue;
  const parent = byId.get(s.parent_id);
  const owner = files.indexOf(t);
  const appPid = JSON.parse(fs.readFileSync(apps[owner].slice(0, apps[owner].lastIndexOf('=')), 'utf8')
    .split('\n').find((l) => l.startsWith('SPANS ')).slice(6)).pid;
  if (s.resource['process.pid'] !== appPid) fail(`syscall span ${s.span_id}`, `process of ${t}`, appPid, s.resource['process.pid']);
  if (!parent) fail(`syscall span ${s.span_id}`, 'its parent exported', 'yes', 'no');
}

// Round trip: what B received from A's exporter is what A exported, byte for byte in ids and
// nanosecond times, attributes (crosstrace.* included) and resources.
const strip = (s) => {
  const c = { ...s };
  delete c.sdk;
  delete c.time_resolution_ns;
  return c;
};
const forwarded = new Map(lines(forwardedPath).map((l) => {
  const s = JSON.parse(l);
  return [s.span_id, s];
}));
let diff = 0;
for (const s of exported) {
  const b = forwarded.get(s.span_id);
  if (!same(strip(s), b && strip(b))) {
    diff++;
    fail(`round trip ${s.span_id}`, 'B received', strip(s), b && strip(b));
  }
}
if (forwarded.size !== exported.length) fail('round trip', 'spans B received', exported.length, forwarded.size);
console.log(`${checked} app spans checked, ${exported.length} spans exported (with syscall spans), ` +
  `${forwarded.size} received by B, ${failures} differences`);
process.exit(failures || checked === 0 ? 1 : 0);
