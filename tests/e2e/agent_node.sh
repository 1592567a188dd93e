#!/bin/sh
# End-to-end test of `crosstrace agent` with real SDK clients from npm, on the real kernel:
# agent A watches every process named "node"; three Node.js apps send it their spans
# (@opentelemetry/sdk-node with the OTLP/HTTP JSON exporter, the same with the protobuf
# exporter, zipkin + zipkin-transport-http), each reading a file whose name the test chose
# and burning CPU inside its spans. A annotates the spans with the kernel activity of the
# app's pid (Zipkin: the pid owning the client's TCP connection) and exports them to agent B
# over OTLP/HTTP protobuf. tests/e2e/node/agent_compare.js then checks A's export against
# what each app printed of its own spans, the reads of each app's file as syscall child
# spans, and that B received exactly what A exported (round trip).
set -eu
src=${CT_SOURCE_DIR:?}
bin=${CT_BUILD_DIR:?}/crosstrace
node_dir=$src/tests/e2e/node
test=agent_node
. "$src/tests/e2e/node_common.sh"
[ "$(id -u)" -eq 0 ] || skip "kernel capture needs root"
require_node

work=$(mktemp -d /tmp/ct-agent-node-XXXXXX)
apid=
bpid=
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null || true
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

port() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# B: receive only (its kernel capture is not under test), dumps what it receives.
"$bin" agent --capture=false --otlp-port 0 --zipkin-port -1 --health-port -1 \
	--status-file "$work/b.status" --received-json "$work/forwarded.jsonl" \
	--output "$work/b" 2>"$work/b.log" &
bpid=$!
wait_file "$work/b.status" "agent B"

"$bin" agent --watch-comm node --otlp-port 0 --zipkin-port 0 --health-port 0 \
	--socket "$work/agent.sock" --output "$work/trace" --rotate-time 500ms --grace 500ms \
	--span-delay 2s --detail-all --export "http://127.0.0.1:$(port otlp "$work/b.status")/v1/traces" \
	--export-delay 50ms --status-file "$work/a.status" --pid-file "$work/a.pid" \
	--exported-json "$work/exported.jsonl" 2>"$work/a.log" &
apid=$!
wait_file "$work/a.status" "agent A"
[ "$(cat "$work/a.pid")" = "$apid" ] || { echo "FAIL: pid file holds $(cat "$work/a.pid"), not $apid" >&2; exit 1; }

# Files with names only this run uses.
for k in json proto zipkin; do
	head -c 5000 /dev/urandom | base64 >"$work/input-$k.txt"
done
otlp=$(port otlp "$work/a.status")
zipkin=$(port zipkin "$work/a.status")
export OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none
cd "$node_dir"
node agent_otel_app.js json "http://127.0.0.1:$otlp/v1/traces" "$work/input-json.txt" >"$work/json.out" &
j=$!
node agent_otel_app.js proto "http://127.0.0.1:$otlp/v1/traces" "$work/input-proto.txt" >"$work/proto.out" &
p=$!
node agent_zipkin_app.js "http://127.0.0.1:$zipkin/api/v2/spans" "$work/input-zipkin.txt" >"$work/zipkin.out" &
z=$!
wait $j && wait $p && wait $z || { cat "$work"/*.out "$work/a.log"; echo "FAIL: an app failed" >&2; exit 1; }

# Each app printed after its exporter had its answer: A has every span. SIGTERM: A seals the
# recording, analyses it to the end, exports and flushes; then B.
kill -TERM "$apid"
wait "$apid" || { cat "$work/a.log"; echo "FAIL: agent A exited with an error" >&2; exit 1; }
apid=
[ ! -e "$work/a.pid" ] || { echo "FAIL: agent A left its pid file" >&2; exit 1; }
kill -TERM "$bpid"
wait "$bpid" || { cat "$work/b.log"; echo "FAIL: agent B exited with an error" >&2; exit 1; }
bpid=
grep -v '^T[0-9]' "$work/a.log"
grep -q "tracing pid .* (watch-comm)" "$work/a.log" || { echo "FAIL: no node process traced" >&2; exit 1; }
node agent_compare.js "$work/exported.jsonl" "$work/forwarded.jsonl" \
	"$work/json.out=$work/input-json.txt" "$work/proto.out=$work/input-proto.txt" \
	"$work/zipkin.out=$work/input-zipkin.txt"
echo "1 passed, 0 failed"
