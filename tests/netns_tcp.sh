#!/usr/bin/env bash
# Two nodes in two network namespaces joined by a veth pair, forced onto
# tcp;ofi_rxm (shm would silently work across namespaces), running the heap tests.
# Checks that the bytes really crossed the veth link. Exit 77 = skipped (no root).
set -euo pipefail
dstdrun=$1; shift
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then echo "SKIP: needs root and iproute2"; exit 77; fi
tag=dstd$$
cleanup() { ip netns del "${tag}0" 2>/dev/null || true; ip netns del "${tag}1" 2>/dev/null || true; }
trap cleanup EXIT
if ! ip netns add "${tag}0" 2>/dev/null; then echo "SKIP: cannot create network namespaces here"; exit 77; fi
ip netns add "${tag}1"
ip link add "${tag}v0" type veth peer name "${tag}v1"
for r in 0 1; do
  ip link set "${tag}v$r" netns "${tag}$r"
  ip -n "${tag}$r" addr add "10.199.77.$((r + 1))/30" dev "${tag}v$r"
  ip -n "${tag}$r" link set "${tag}v$r" up
  ip -n "${tag}$r" link set lo up
done
tx_bytes() { ip netns exec "${tag}0" cat "/sys/class/net/${tag}v0/statistics/tx_bytes"; }
before=$(tx_bytes)
# Each node runs inside its namespace and binds the tcp provider to its veth end.
"$dstdrun" -n 2 --provider 'tcp;ofi_rxm' --timeout 240 \
  --node-prefix "ip netns exec ${tag}{rank} env FI_TCP_IFACE=${tag}v{rank}" "$@"
after=$(tx_bytes)
echo "veth ${tag}v0 sent $((after - before)) bytes during the job"
if [ $((after - before)) -lt 100000 ]; then
  echo "FAIL: the job did not go over the veth link"; exit 1
fi
