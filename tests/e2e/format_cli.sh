#!/bin/sh
# `crosstrace info` and `crosstrace dump` agree with each other, with what was written and with
# babeltrace2 on a known trace; damage is reported as a warning with a non-zero exit status.
set -eu
build=${CT_BUILD_DIR:?}
ct=$build/crosstrace
tmp=$(mktemp -d /tmp/ct-format-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$build/tests/test_format" --make-trace "$tmp/t"
"$ct" info "$tmp/t" > "$tmp/info.txt"
"$ct" info --format json "$tmp/t" > "$tmp/info.json"
events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$tmp/info.json")
dumped=$("$ct" dump --format json "$tmp/t" | wc -l)
text=$("$ct" dump "$tmp/t" | grep -c 'syscall_entry: nr=0, args=\[0, 0x1, 0x2')
bt=$(babeltrace2 "$tmp/t/chunks" | grep -c syscall_entry)
echo "written=3000 info=$events dump-json=$dumped dump-text=$text babeltrace2=$bt"
[ "$events" = 3000 ] && [ "$dumped" = 3000 ] && [ "$text" = 3000 ] && [ "$bt" = 3000 ]
# Every JSON line parses and carries the fields of its event.
"$ct" dump --format json --limit 5 "$tmp/t" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    assert e["type"] == "syscall_entry" and len(e["args"]) == 6 and e["cpu"] == 0, e
'
# Damage: a truncated stream gives a warning naming the file, and exit status 1.
f="$tmp/t/chunks/000001/kernel_cpu0"
truncate -s -10 "$f"
if "$ct" info "$tmp/t" > /dev/null 2> "$tmp/err"; then
	echo "info should fail on a damaged trace" >&2
	exit 1
fi
grep -q "chunks/000001/kernel_cpu0: offset" "$tmp/err"
echo "format_cli: ok"
