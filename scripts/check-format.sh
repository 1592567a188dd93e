#!/bin/sh
# Checks that every C source follows .clang-format (kernel style, 100 columns).
# With --fix, reformats in place instead.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' | grep -v -e '^tests/data/' -e '/vendor/' -e '\.pb-c\.' || true)
[ -n "$files" ] || exit 0
if [ "${1:-}" = "--fix" ]; then
	echo "$files" | xargs clang-format -i
	exit 0
fi
if ! echo "$files" | xargs clang-format --dry-run -Werror 2>/tmp/ct-format.$$; then
	grep -E '^[^ ]+:[0-9]+:[0-9]+:' /tmp/ct-format.$$ | cut -d: -f1 | sort -u |
		sed 's/^/not formatted: /' >&2
	rm -f /tmp/ct-format.$$
	echo "check-format: run scripts/check-format.sh --fix" >&2
	exit 1
fi
rm -f /tmp/ct-format.$$
echo "check-format: ok"
