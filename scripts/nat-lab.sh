#!/bin/sh
# The NAT lab (after ../shared/nat-lab-sketch.sh): inside the caller's private network and
# mount namespaces (run it under `unshare -n -m --propagation private`), a "public"
# segment 198.19.0.0/24 on a bridge (the signaling server and coturn bind 198.19.0.1) and
# two homes, hA (198.18.1.2) and hB (198.18.2.2), each behind a router namespace that NATs
# with nftables. Only the RFC 2544 benchmarking range 198.18.0.0/15 is used.
# Usage: nat-lab.sh PROFILE, where PROFILE is
#   cone       endpoint-independent NAT on both routers (masquerade): STUN works
#   symmetric  a new port per destination on both (masquerade fully-random): TURN needed
#   udp-blocked  cone NAT, but router A forwards no UDP (an office firewall): TURN over TCP
set -e
profile=${1:?usage: nat-lab.sh cone|symmetric|udp-blocked}
mkdir -p /run/netns && mount -t tmpfs nat-lab /run/netns
ip link set lo up
ip link add br0 type bridge
ip addr add 198.19.0.1/24 dev br0
ip link set br0 up
for X in A B; do
  n=$([ $X = A ] && echo 1 || echo 2)
  ip netns add r$X
  ip netns add h$X
  ip link add up$X type veth peer name wan$X
  ip link set up$X master br0 up
  ip link set wan$X netns r$X
  ip -n r$X addr add 198.19.0.$((n + 1))/24 dev wan$X
  ip -n r$X link set wan$X up
  ip -n r$X link set lo up
  ip link add lan$X type veth peer name eth$X
  ip link set lan$X netns r$X
  ip link set eth$X netns h$X
  ip -n r$X addr add 198.18.$n.1/24 dev lan$X
  ip -n r$X link set lan$X up
  ip -n h$X addr add 198.18.$n.2/24 dev eth$X
  ip -n h$X link set eth$X up
  ip -n h$X link set lo up
  ip -n h$X route add default via 198.18.$n.1
  ip netns exec r$X sysctl -qw net.ipv4.ip_forward=1
  nat=masquerade
  [ "$profile" = symmetric ] && nat="masquerade fully-random"
  # Unsolicited packets from outside are dropped, as home routers do, before conntrack
  # confirms them: a confirmed entry for a peer's early check would make the router pick
  # another port for the home's own packets to that peer, and hole punching would fail.
  ip netns exec r$X nft -f - <<RULES
table ip nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan$X" $nat
  }
}
table inet router {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "wan$X" ct state new drop
  }
}
RULES
done
if [ "$profile" = udp-blocked ]; then
  ip netns exec rA nft -f - <<'RULES'
table inet firewall {
  chain forward {
    type filter hook forward priority 0; policy accept;
    meta l4proto udp drop
  }
}
RULES
fi
