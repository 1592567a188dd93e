#!/bin/sh
# Builds crosstrace into build/ (or the directory given as $1) with CMake and Ninja.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/build}
shift 2>/dev/null || true
cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$dir"
