#!/bin/sh
# Installs everything crosstrace needs to build, run and test, from Debian packages and (for
# the tests that drive real OpenTelemetry/Zipkin SDKs) from npm. Idempotent: run it as often
# as you like. Needs root (apt).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)

PKGS="
build-essential cmake ninja-build pkg-config git ca-certificates
clang llvm lld libclang-rt-14-dev clang-format
libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
babeltrace2 libbabeltrace2-dev lttng-tools liblttng-ust-dev
libjansson-dev libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev
libjemalloc-dev
strace linux-perf wrk procps iproute2 python3 file
"
# Node.js and npm: the machine's own (often NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package) when present; Debian's otherwise.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages:$missing" >&2
		echo "install-deps: run this script as root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || echo "install-deps: apt-get update failed; trying the cached lists" >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# npm packages for end-to-end tests with real SDKs (lock files pinned).
for d in tests/e2e/node web; do
	if [ -f "$here/$d/package.json" ]; then
		(cd "$here/$d" && { [ -f package-lock.json ] && npm ci --no-audit --no-fund -q ||
			npm install --no-audit --no-fund -q; })
	fi
done
echo "install-deps: all dependencies present"
