#!/bin/sh
# check_port.sh DSTDRUN STD_BIN DSTD_BIN [args...]
# Runs a port with --small as plain std and as dstd on 1, 2 and 4 nodes, and fails
# unless every run succeeds and prints the same `result:` line.
set -u
dstdrun=$1 std_bin=$2 dstd_bin=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
timeout --kill-after=10 300 "$std_bin" --small "$@" >"$out/std" 2>&1 || { echo "std run failed:"; cat "$out/std"; status=1; }
for n in 1 2 4; do
  "$dstdrun" -n "$n" --timeout 280 "$dstd_bin" --small "$@" >"$out/dstd$n" 2>&1 || { echo "dstd run on $n nodes failed:"; cat "$out/dstd$n"; status=1; }
done
expect=$(grep '^result:' "$out/std")
[ -n "$expect" ] || { echo "std run printed no result line"; status=1; }
for f in std dstd1 dstd2 dstd4; do
  got=$(grep '^result:' "$out/$f")
  tp=$(grep '^throughput:' "$out/$f")
  echo "$f: $got  $tp"
  [ "$got" = "$expect" ] || { echo "  differs from std ($expect)"; status=1; }
done
exit $status
