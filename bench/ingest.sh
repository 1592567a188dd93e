#!/bin/bash
# bench/ingest in rounds: OTLP protobuf spans ingested per core (bench/ingest.c) by the
# receiver alone, by `crosstrace agent` annotating without recording the spans, and by the
# agent with its defaults (spans annotated and recorded). Each round runs every mode once, in
# a rotated order, so that a change of load on the shared machine hits all modes alike; per
# mode the median of the rounds with the range, peak RSS and the unexplained loss. With a
# second build directory (BASE), each mode also runs that build's binaries in turn: before
# and after a change, measured in the same rounds. Not a test: it prints figures and passes
# no judgement.
#
#   bench/ingest.sh [BUILD_DIR [BASE_BUILD_DIR]]     (as root: the agent captures kernel events)
#
# Environment: INGEST_ROUNDS (3), INGEST_SECONDS per run (10), INGEST_OUT results file
# (default bench/results/ingest-<date>.md).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
base=${2:-}
rounds=${INGEST_ROUNDS:-3}
secs=${INGEST_SECONDS:-10}
stamp=$(date +%Y%m%d-%H%M%S)
out=${INGEST_OUT:-$here/bench/results/ingest-$stamp.md}
tmp=$(mktemp -d /tmp/ct-ingest-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

modes="receiver norecord defaults"
declare -A label args
label[receiver]="receiver + recording of the spans, no agent"
args[receiver]=""
label[norecord]="agent, annotation on, spans not recorded (--no-record)"
args[norecord]="--no-record"
label[defaults]="agent, annotation on, spans recorded (defaults)"
args[defaults]=""
builds="new"
[ -n "$base" ] && builds="base new"

run_one() { # build-dir build-name mode round
	local f=$tmp/$2-$3-$4.txt agent=()

	[ "$3" != receiver ] && agent=(--agent "$1/crosstrace")
	# shellcheck disable=SC2086
	"$1/bench/ingest" --seconds "$secs" "${agent[@]}" ${args[$3]} >"$f" 2>&1
	printf '  %-5s %-9s %s\n' "$2" "$3" "$(grep -o 'ingested per core: [0-9]*' "$f")"
}

describe() { # build-dir -> the commit of its source tree
	local src rev

	src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null)
	if ! rev=$(git -C "${src:-/nonexistent}" rev-parse --short HEAD 2>/dev/null); then
		echo "commit unknown"
	elif git -C "$src" diff --quiet HEAD; then
		echo "commit $rev"
	else
		echo "commit $rev with uncommitted changes"
	fi
}

median_range() { # numbers on stdin -> "median (min-max)"
	sort -n | awk '{v[NR] = $1} END {
		if (!NR) { print "-"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f k (%.1f-%.1f)", m / 1000, v[1] / 1000, v[NR] / 1000 }'
}

echo "bench/ingest.sh: $rounds rounds of $secs s per mode; results in $out"
read -ra order <<<"$modes"
for ((r = 1; r <= rounds; r++)); do
	echo "round $r"
	for m in "${order[@]}"; do
		for b in $builds; do
			if [ "$b" = base ]; then d=$base; else d=$build; fi
			run_one "$d" "$b" "$m" "$r"
		done
	done
	order=("${order[@]:1}" "${order[0]}") # the next round starts with the next mode
done

{
	echo "# bench/ingest, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Machine: $(nproc) CPUs, $(uname -r), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "New build: $build, $(describe "$build")."
	[ -n "$base" ] && echo "Base build: $base, $(describe "$base")."
	echo "$rounds rounds of $secs s per mode, modes in a rotated order each round; spans per"
	echo "CPU-second of the receiving process (median, range in parentheses); peak RSS range;"
	echo "unexplained loss summed over the rounds. Peer: the OpenTelemetry Collector's published"
	echo "sizing, ~15k spans/s per core (not measured: otelcol is not packaged in Debian)."
	echo
	if [ -n "$base" ]; then
		echo "| mode | base | new | peak RSS MiB (new) | unexplained loss (new) |"
		echo "| --- | --- | --- | --- | --- |"
	else
		echo "| mode | spans/s per core | peak RSS MiB | unexplained loss |"
		echo "| --- | --- | --- | --- |"
	fi
	for m in $modes; do
		row="| ${label[$m]} |"
		for b in $builds; do
			row="$row $(cat "$tmp/$b-$m-"*.txt | sed -n 's/^ingested per core: \([0-9]*\).*/\1/p' | median_range) |"
		done
		rss=$(cat "$tmp/new-$m-"*.txt | sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' | sort -n |
			awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}')
		loss=$(cat "$tmp/new-$m-"*.txt | sed -n 's/^unexplained loss: \(-\{0,1\}[0-9]*\) spans[^,]*\(, \(-\{0,1\}[0-9]*\)\)\{0,1\}.*/\1 \3/p' |
			awk '{s += $1 + $2} END {print s + 0}')
		echo "$row $rss | $loss |"
	done
} >"$out"
echo
cat "$out"
