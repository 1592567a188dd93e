#!/bin/sh
# End-to-end: real OpenTelemetry (OTLP/HTTP JSON and protobuf exporters) and Zipkin SDK clients
# from npm, each reading a file and burning CPU inside spans, send to `crosstrace receive`; the
# spans received and the events written to the trace directory are compared with what each
# app printed of its own spans (tests/e2e/node/compare.js).
set -eu
src=${CT_SOURCE_DIR:?}
bin=${CT_BUILD_DIR:?}/crosstrace
node_dir=$src/tests/e2e/node
test=net_node
. "$src/tests/e2e/node_common.sh"
require_node

work=$(mktemp -d /tmp/ct-net-node-XXXXXX)
rpid=
bpid=
cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null || true
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# Receiver B only receives what receiver A exports to it (round trip over OTLP/HTTP protobuf).
"$bin" receive --otlp-port 0 --zipkin-port -1 --ports-file "$work/ports-b" \
	--spans-json "$work/forwarded.jsonl" 2>"$work/receiver-b.log" &
bpid=$!
wait_file "$work/ports-b" "receiver B"
otlp_b=$(awk '$1 == "otlp" { print $2 }' "$work/ports-b")

"$bin" receive --otlp-port 0 --zipkin-port 0 --ports-file "$work/ports" \
	--spans-json "$work/received.jsonl" --out "$work/trace" \
	--export "http://127.0.0.1:$otlp_b/v1/traces" 2>"$work/receiver.log" &
rpid=$!
wait_file "$work/ports" "receiver A"
otlp=$(awk '$1 == "otlp" { print $2 }' "$work/ports")
zipkin=$(awk '$1 == "zipkin" { print $2 }' "$work/ports")

# The SDKs' own metrics/logs pipelines are not under test.
export OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none
file=$node_dir/package.json
cd "$node_dir"
node otel_app.js json "http://127.0.0.1:$otlp/v1/traces" "$file" >"$work/json.out"
node otel_app.js proto "http://127.0.0.1:$otlp/v1/traces" "$file" >"$work/proto.out"
node zipkin_app.js "http://127.0.0.1:$zipkin/api/v2/spans" "$file" >"$work/zipkin.out"

# Each app printed only after its exporter had its answer: all spans are in. Stop receiver A
# (SIGTERM: it flushes its exporter and the trace directory), then B.
kill -TERM "$rpid"
wait "$rpid" || { cat "$work/receiver.log"; echo "FAIL: receiver exited with an error" >&2; exit 1; }
rpid=
kill -TERM "$bpid"
wait "$bpid" || { cat "$work/receiver-b.log"; echo "FAIL: receiver B failed" >&2; exit 1; }
bpid=
cat "$work/receiver.log" "$work/receiver-b.log"
"$bin" dump --format json "$work/trace" >"$work/dump.jsonl"
node compare.js "$work/received.jsonl" "$work/dump.jsonl" "$work/json.out" "$work/proto.out" \
	"$work/zipkin.out"
# What B got from A's exporter is what A received: ids, times, names, attributes, resources.
node compare.js --same "$work/received.jsonl" "$work/forwarded.jsonl"
echo "1 passed, 0 failed"
