#!/usr/bin/env bash
# Installs dstd into a temporary prefix, then builds a user's project against it
# twice (CMake find_package, and pkg-config) and runs both on 3 nodes.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
cmake -S "$src/tests/consumer" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" > /dev/null
cmake --build "$tmp/cm" > /dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
g++ -O2 "$src/tests/consumer/main.cpp" -o "$tmp/pc" $(pkg-config --cflags --libs dstd)
"$tmp/prefix/bin/dstdrun" -n 3 --timeout 60 "$tmp/cm/consumer" | grep -q "consumer: 3 nodes, sum 6, read back 42"
"$tmp/prefix/bin/dstdrun" -n 3 --timeout 60 "$tmp/pc" | grep -q "consumer: 3 nodes, sum 6, read back 42"
echo "find_package and pkg-config consumers both ran on 3 nodes"
