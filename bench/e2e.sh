#!/bin/bash
# bench/e2e: what tracing costs a small multi-threaded HTTP server (bench/e2e_server.c: one
# span per request with four child spans, a lock shared by the workers, a read from a data
# file) driven by wrk on loopback, in every scenario of issue #6, side by side with perf
# record on the same tracepoints and strace -f -c. Interleaved rounds (each round runs every
# scenario once, in a rotated order, so that a change of load on the machine hits all
# alike); per scenario the median of the rounds with the spread, the overhead against no
# tracing, and every loss counter. Not a test: it prints figures and passes no judgement.
#
#   bench/e2e.sh [BUILD_DIR]        (as root; about 7 minutes with the defaults)
#
# Environment: E2E_ROUNDS (9), E2E_SECONDS per measured run (3), E2E_CONNS wrk connections
# (32), E2E_THREADS server workers (2), E2E_WRK_THREADS (2), E2E_OUT results file (default
# bench/results/e2e-<date>.md), E2E_SCENARIOS (space-separated subset of the names below).
# Needs wrk, perf and strace (scripts/install-deps.sh).
# The launch lines below are expanded later, by eval in run_one:
# shellcheck disable=SC2016
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
rounds=${E2E_ROUNDS:-9}
secs=${E2E_SECONDS:-3}
conns=${E2E_CONNS:-32}
workers=${E2E_THREADS:-2}
wrk_threads=${E2E_WRK_THREADS:-2}
stamp=$(date +%Y%m%d-%H%M%S)
out=${E2E_OUT:-$here/bench/results/e2e-$stamp.md}
ct=$build/crosstrace
server=$build/bench/e2e_server

# Per scenario: its label, and how the server is started: a command line expanded when the
# run starts ($S: the server command, $R: the run's directory, $CT: crosstrace).
scenarios_all="none spans kernel spans_kernel only100 only1 only01 perf strace"
declare -A label launch
label[none]="no tracing"
launch[none]='E2E_TRACE=0 $S'
label[spans]="spans only (100%)"
launch[spans]='CROSSTRACE_OUTPUT=$R/spans $S'
label[kernel]="kernel only (whole process tree)"
launch[kernel]='$CT record -o $R/rec -- env E2E_TRACE=0 $S'
label[spans_kernel]="spans + kernel (100%)"
launch[spans_kernel]='$CT record -o $R/rec -- $S'
label[only100]="spans + kernel --only-in-spans (100%)"
launch[only100]='$CT record --only-in-spans -o $R/rec -- $S'
label[only1]="spans 1% + kernel --only-in-spans"
launch[only1]='OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01 $CT record --only-in-spans -o $R/rec -- $S'
label[only01]="spans 0.1% + kernel --only-in-spans"
launch[only01]='OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.001 $CT record --only-in-spans -o $R/rec -- $S'
label[perf]="perf record, same tracepoints (no spans)"
tps="raw_syscalls:sys_enter,raw_syscalls:sys_exit,sched:sched_switch,sched:sched_waking"
tps="$tps,sched:sched_wakeup,sched:sched_wakeup_new,sched:sched_process_fork"
tps="$tps,sched:sched_process_exec,sched:sched_process_exit,block:block_rq_issue"
tps="$tps,block:block_rq_complete"
launch[perf]='perf record -q -e '$tps' -o $R/perf.data -- env E2E_TRACE=0 $S'
label[strace]="strace -f -c (no spans)"
launch[strace]='strace -f -c -o $R/strace.txt -- env E2E_TRACE=0 $S'
scenarios=${E2E_SCENARIOS:-$scenarios_all}

die() {
	echo "e2e: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (crosstrace record, perf and strace trace the server)"
if [ ! -x "$ct" ] || [ ! -x "$server" ]; then
	die "$ct or $server missing: build first (ninja -C $build crosstrace_cli e2e_server)"
fi
for tool in wrk perf strace; do
	command -v $tool > /dev/null || die "$tool missing (scripts/install-deps.sh installs it)"
done
for s in $scenarios; do
	[ -n "${label[$s]:-}" ] || die "unknown scenario '$s' (known: $scenarios_all)"
done

tmp=$(mktemp -d /var/tmp/ct-e2e-XXXXXX)
server_pid=""
launcher_pid=""
cleanup() {
	[ -z "$server_pid" ] || kill -TERM "$server_pid" 2> /dev/null
	[ -z "$launcher_pid" ] || wait "$launcher_pid" 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$tmp/results.tsv
: > "$results"

hz=$(getconf CLK_TCK)

# CPU time (user + system, all threads) of a process so far, in clock ticks; 0 once gone.
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0
}

# wrk latency ("672.00us", "2.47ms", "1.01s") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n }'
}

# One run of scenario $1 in round $2: start the server under its tracer, warm up, measure,
# stop it, collect the counters. Appends a line to $results.
run_one() {
	# R, S and CT are used by the launch lines (eval).
	# shellcheck disable=SC2034
	local sc=$1 round=$2 R=$tmp/$1-$2 S="$server -t $workers" CT=$ct
	local port="" rps p50 p99 events="-" drops="-" tracer_pid c0 c1 nreq cpu
	mkdir -p "$R"
	S="$S $R/port"
	eval "${launch[$sc]}" > "$R/stdout" 2> "$R/stderr" &
	launcher_pid=$!
	for _ in $(seq 1 400); do
		[ -s "$R/port" ] && break
		kill -0 $launcher_pid 2> /dev/null || break
		sleep 0.05
	done
	if [ ! -s "$R/port" ]; then
		echo "e2e: $sc: the server did not start:" >&2
		tail -5 "$R/stderr" >&2
		wait $launcher_pid
		launcher_pid=""
		return 1
	fi
	read -r port server_pid < "$R/port"
	# The tracer is the server's parent (crosstrace record, perf, strace; else the shell).
	tracer_pid=$(awk '{print $4}' "/proc/$server_pid/stat")
	wrk -t"$wrk_threads" -c"$conns" -d1s "http://127.0.0.1:$port/item/1" > /dev/null 2>&1
	c0=$(($(cpu_ticks "$server_pid") + $(cpu_ticks "$tracer_pid")))
	wrk -t"$wrk_threads" -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/item/1" \
		> "$R/wrk.txt" 2>&1
	c1=$(($(cpu_ticks "$server_pid") + $(cpu_ticks "$tracer_pid")))
	kill -TERM "$server_pid"
	wait $launcher_pid
	launcher_pid=""
	server_pid=""
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$R/wrk.txt")
	nreq=$(awk '/requests in/ {print $1; exit}' "$R/wrk.txt")
	cpu=$(awk -v t=$((c1 - c0)) -v n="${nreq:-0}" -v hz="$hz" \
		'BEGIN {if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "-"}')
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$R/wrk.txt")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$R/wrk.txt")")
	# Loss counters: what the trace says (manifest, recorder summary, perf), plus what the
	# server's tracer counted itself and the trace does not show (never double counted).
	local client reported
	client=$(sed -n 's/.*tracer: [0-9]* records, \([0-9]*\) dropped, \([0-9]*\) lost after.*/\1 \2/p' \
		"$R/stderr" | awk '{print $1 + $2}')
	client=${client:-0}
	case $sc in
	none | strace) ;;
	spans)
		events=$(sed -n 's/.*tracer: \([0-9]*\) records.*/\1/p' "$R/stderr")
		# totals.lost of the manifest: {"client_records": N, ...}
		drops=$(sed -n '/"totals"/,/}/p' "$R/spans/trace.json" 2> /dev/null |
			sed -n 's/.*"lost": *{\(.*\)}.*/\1/p' | grep -o '[0-9]\+' |
			awk '{s += $1} END {print s + 0}')
		reported=$(sed -n '/"totals"/,/}/p' "$R/spans/trace.json" 2> /dev/null |
			grep -o '"client_records": *[0-9]*' | grep -o '[0-9]*$')
		drops=$((drops + (client > ${reported:-0} ? client - ${reported:-0} : 0)))
		;;
	perf)
		# The aggregated block comes first; per-event blocks follow ("... stats:").
		perf report -i "$R/perf.data" --stats 2> /dev/null |
			awk '/ stats:$/ && !/Aggregated/ {exit} {print}' > "$R/perf.stats"
		events=$(awk '/SAMPLE events:/ {print $3; exit}' "$R/perf.stats")
		drops=$(awk '/LOST events:|LOST_SAMPLES events:/ {s += $3} END {print s + 0}' \
			"$R/perf.stats")
		;;
	*)
		events=$(awk '/^events:/ {print $2}' "$R/stderr")
		drops=$(sed -n 's/^drops: kernel \([0-9]*\), client \([0-9]*\), late \([0-9]*\), out-of-order \([0-9]*\), write errors \([0-9]*\).*/\1 \2 \3 \4 \5/p' \
			"$R/stderr" | awk '{print $1 + $2 + $3 + $4 + $5}')
		reported=$(sed -n 's/^drops: kernel [0-9]*, client \([0-9]*\),.*/\1/p' "$R/stderr")
		drops=$((${drops:-0} + (client > ${reported:-0} ? client - ${reported:-0} : 0)))
		;;
	esac
	# Which counters a run with losses had: the table sums them, this says where they were.
	if [ "${drops:--}" != "-" ] && [ "$drops" != 0 ]; then
		printf -- '- %s, round %s: %s\n' "${label[$sc]}" "$round" \
			"$(grep -h '^drops:\|lost by clients\|LOST' "$R/stderr" "$R/perf.stats" 2> /dev/null |
				tr '\n' ' ')" >> "$tmp/losses.md"
	fi
	[ -n "$rps" ] || {
		echo "e2e: $sc: wrk failed:" >&2
		cat "$R/wrk.txt" >&2
		return 1
	}
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$round" "$rps" "$p50" "$p99" \
		"${events:--}" "${drops:--}" "$cpu" >> "$results"
	printf 'e2e: round %s %-13s %7.0f req/s  p50 %6.3f ms  p99 %7.3f ms  CPU %6s us/req  events %s  drops %s\n' \
		"$round" "$sc" "$rps" "$p50" "$p99" "$cpu" "${events:--}" "${drops:--}" >&2
	rm -rf "$R"
}

# Median and range of column $2 for scenario $1.
stat_of() {
	awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $c != "-" {print $c}' "$results" | sort -g |
		awk '{v[NR] = $1} END {
			if (!NR) { print "- - -"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR] }'
}

start=$(date +%s)
echo "e2e: $rounds rounds x ($scenarios), ${secs}s each, wrk -t$wrk_threads -c$conns," \
	"server -t $workers" >&2
read -r -a order <<< "$scenarios"
n=${#order[@]}
for r in $(seq 1 "$rounds"); do
	# Rotate the order every round.
	for k in $(seq 0 $((n - 1))); do
		sc=${order[$(((k + r - 1) % n))]}
		run_one "$sc" "$r" || echo "e2e: $sc round $r failed" >&2
	done
done
elapsed=$(($(date +%s) - start))

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
base=$(stat_of none 3 | cut -d' ' -f1)
cpu_base=$(stat_of none 8 | cut -d' ' -f1)
{
	echo "## bench/e2e results ($(date '+%Y-%m-%d %H:%M'))"
	echo
	echo "Machine: $(nproc) vCPUs ($cpu), $mem, $(uname -sr), $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)."
	echo "Load: wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}') -t$wrk_threads -c$conns, ${secs} s per run after a 1 s warm-up, on the same"
	echo "machine as the server ($workers worker threads, 5 spans and a lock, a 4 KiB file read per request)."
	echo "$rounds interleaved rounds; medians [min-max] of the rounds; $elapsed s in all. Command: \`bench/e2e.sh\`."
	echo
	echo "| scenario | requests/s | throughput vs no tracing | p50 ms | p99 ms | CPU µs/request | CPU vs no tracing | events recorded | drops |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for s in $scenarios; do
		read -r m lo hi <<< "$(stat_of "$s" 3)"
		read -r l50 _ _ <<< "$(stat_of "$s" 4)"
		read -r l99 _ _ <<< "$(stat_of "$s" 5)"
		read -r ev _ _ <<< "$(stat_of "$s" 6)"
		read -r cpu clo chi <<< "$(stat_of "$s" 8)"
		dr=$(awk -F'\t' -v s="$s" '$1 == s && $7 != "-" {t += $7; n++} END {print n ? t : "-"}' \
			"$results")
		if [ "$m" = "-" ]; then
			echo "| ${label[$s]} | failed | | | | | | | |"
			continue
		fi
		cratio=$(awk -v a="$cpu" -v b="$cpu_base" 'BEGIN {
			if (a == "-" || b == "-" || b == 0) { print "-"; exit }
			printf "%.3f (%+.1f%%)", a / b, (a / b - 1) * 100 }')
		ratio=$(awk -v a="$m" -v b="$base" 'BEGIN {
			if (b == "-" || b == 0) { print "-"; exit }
			printf "%.3f (%+.1f%%)", a / b, (a / b - 1) * 100 }')
		printf '| %s | %.0f [%.0f-%.0f] | %s | %.3f | %.3f | %.1f [%.1f-%.1f] | %s | %s | %s |\n' \
			"${label[$s]}" "$m" "$lo" "$hi" "$ratio" "$l50" "$l99" "$cpu" "$clo" "$chi" \
			"$cratio" "$([ "$ev" = "-" ] && echo - || printf '%.0f' "$ev")" "$dr"
	done
	echo
	echo "CPU µs/request: CPU time (user + system) of the server and of its tracer process"
	echo "(crosstrace record, perf, strace) during the measured run, per request served; it"
	echo "depends less than requests/s on what else the machine runs. Events recorded: median"
	echo "per run (kernel events and client records written, perf samples); drops: sum over all"
	echo "runs of every loss counter (kernel ring, client rings, records lost after the ring,"
	echo "late and out-of-order events, write errors; perf LOST)."
	if [ -s "$tmp/losses.md" ]; then
		echo
		echo "Runs with losses:"
		echo
		cat "$tmp/losses.md"
	fi
} > "$tmp/table.md"
mkdir -p "$(dirname "$out")"
cp "$tmp/table.md" "$out"
cat "$out"
echo "e2e: written to $out" >&2
