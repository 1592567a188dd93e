# Sourced by the end-to-end tests that drive real Node.js SDK clients (agent_node.sh,
# net_node.sh). Needs $test (the test's name) and $node_dir; the caller sets $work before
# using wait_file.

# Skips with a reason (exit 77), or fails under CI=true, where no test may skip.
skip() {
	echo "SKIP $test: $1"
	if [ "${CI:-}" = true ]; then
		echo "FAIL: skipping is not allowed under CI=true" >&2
		exit 1
	fi
	exit 77
}

require_node() {
	command -v node >/dev/null 2>&1 || skip "node is not installed (run scripts/install-deps.sh)"
	[ -d "$node_dir/node_modules/@opentelemetry/sdk-node" ] &&
		[ -d "$node_dir/node_modules/zipkin" ] ||
		skip "npm packages missing in tests/e2e/node (run scripts/install-deps.sh)"
}

# wait_file FILE WHAT: waits up to 15 s for FILE to be non-empty (WHAT wrote it when ready).
wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -le 150 ] || { cat "$work"/*.log; echo "FAIL: $2 did not start" >&2; exit 1; }
		sleep 0.1
	done
}
