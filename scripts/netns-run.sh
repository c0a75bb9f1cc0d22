#!/bin/sh
# Runs a command in a new, private network namespace: loopback plus a veth pair whose
# ends both stay inside (198.18.0.1/24, the RFC 2544 benchmarking range) and a default
# route, because WebRTC gathers no host candidate on loopback alone. Nothing can leave.
# Tests use it to break the network for real (nftables) without touching anyone else's.
# Needs root (or CAP_SYS_ADMIN). Usage: scripts/netns-run.sh COMMAND [ARG...]
set -e
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
exec unshare -n sh -c '
  ip link set lo up &&
  ip link add nsv0 type veth peer name nsv1 &&
  ip addr add 198.18.0.1/24 dev nsv0 &&
  ip link set nsv1 up && ip link set nsv0 up &&
  ip route add default dev nsv0 &&
  exec "$@"' netns-run "$@"
