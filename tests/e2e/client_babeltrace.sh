#!/bin/sh
# The example program records a trace (two processes, three threads, context passed over a
# pipe as traceparent text). For each process's trace directory, babeltrace2 and crosstrace's
# C reader (crosstrace info / dump) count the same events, the thread streams hold exactly the
# records the program says it emitted, nothing was lost, and the worker's spans are children
# of the parent's send-order spans in the same traces.
set -eu
build=${CT_BUILD_DIR:?}
ex=$build/examples/ct_example_checkout
ct=$build/crosstrace
if ! command -v babeltrace2 > /dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "client_babeltrace: babeltrace2 is missing (scripts/install-deps.sh)" >&2
		exit 1
	fi
	echo "SKIP client_babeltrace: babeltrace2 not installed (run scripts/install-deps.sh)"
	exit 0
fi
tmp=$(mktemp -d /tmp/ct-client-bt-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

CROSSTRACE_OUTPUT=$tmp/trace OTEL_SERVICE_NAME=checkout "$ex" 7 > "$tmp/out"
cat "$tmp/out"
[ "$(grep -c '^emitted ' "$tmp/out")" = 2 ]
parent_pid=$(tail -n 1 "$tmp/out" | cut -d' ' -f2)

while read -r _ pid emitted; do
	if [ "$pid" = "$parent_pid" ]; then dir=$tmp/trace; else dir=$tmp/trace.$pid; fi
	bt=$(babeltrace2 "$dir/chunks" | wc -l)
	"$ct" info --format json "$dir" > "$tmp/info.json"
	"$ct" dump --format json "$dir" > "$tmp/dump.json"
	python3 - "$tmp/info.json" "$tmp/dump.json" "$bt" "$emitted" "$pid" << 'PY'
import json, sys
info = json.load(open(sys.argv[1]))
events = [json.loads(l) for l in open(sys.argv[2])]
bt, emitted, pid = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
threads = sum(1 for e in events if e["tid"] != 0)
print(f"pid {pid}: babeltrace2={bt} info={info['events']} dump={len(events)} "
      f"thread-records={threads} emitted={emitted}")
assert bt == info["events"] == len(events), "babeltrace2 and the C reader disagree"
assert threads == emitted, "thread streams do not hold what the program emitted"
assert all(e["pid"] == pid for e in events), "events of another process"
assert not any(e["type"] == "client_lost" for e in events), "records were lost"
assert sum(1 for e in events if e["type"] == "process_info") == 1
PY
done < "$tmp/out"

# Context crossed the pipe: each store-order span's parent is a send-order span of the
# parent process, in the same trace.
child_pid=$(head -n 1 "$tmp/out" | cut -d' ' -f2)
"$ct" dump --format json "$tmp/trace" > "$tmp/p.json"
"$ct" dump --format json "$tmp/trace.$child_pid" > "$tmp/c.json"
python3 - "$tmp/p.json" "$tmp/c.json" << 'PY'
import json, sys
p = [json.loads(l) for l in open(sys.argv[1])]
c = [json.loads(l) for l in open(sys.argv[2])]
sends = {e["span_id"]: e for e in p if e["type"] == "span_start" and e["name"] == "send-order"}
stores = [e for e in c if e["type"] == "span_start" and e["name"] == "store-order"]
assert len(sends) == 7 and len(stores) == 7, (len(sends), len(stores))
for s in stores:
    parent = sends[s["parent_id"]]
    assert (parent["trace_hi"], parent["trace_lo"]) == (s["trace_hi"], s["trace_lo"])
    assert s["flags"] & 2, "remote parent flag"
print("client_babeltrace: 7 orders propagated across processes")
PY
echo "client_babeltrace: ok"
