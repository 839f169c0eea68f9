#!/bin/sh
# demo.sh DSTDRUN BINDIR [kvstore args...]
# `make demo`: the kvstore port as a plain std program and on 4 local dstd nodes,
# side by side. The result lines must match: same table, same operations.
set -eu
dstdrun=$1 bindir=$2
shift 2
std_out=$("$bindir/kvstore-std" "$@")
dstd_out=$("$dstdrun" -n 4 --timeout 300 "$bindir/kvstore" "$@")
field() { echo "$1" | sed -n "s/^$2: //p"; }
printf '%-28s %-20s %s\n' "kvstore ($*)" "result" "throughput"
printf '%-28s %-20s %s\n' "std, 1 process" "$(field "$std_out" result)" "$(field "$std_out" throughput)"
printf '%-28s %-20s %s\n' "dstd, 4 nodes (dstdrun -n 4)" "$(field "$dstd_out" result)" "$(field "$dstd_out" throughput)"
if [ "$(field "$std_out" result)" = "$(field "$dstd_out" result)" ]; then
  echo "results match"
  # Set expectations: the two throughputs are not a speed-up comparison.
  echo "(the 4 nodes share this machine's $(nproc) cores; every lock and read of a shard homed on"
  echo " another node goes through libfabric, which std's shared memory never pays: README, \"Quick start\")"
else
  echo "results differ" >&2
  exit 1
fi
