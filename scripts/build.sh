#!/bin/sh
# Builds crosstrace into build/ (or the directory given as $1) with CMake and Ninja.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/build}
if [ $# -gt 0 ]; then shift; fi
cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$dir"
