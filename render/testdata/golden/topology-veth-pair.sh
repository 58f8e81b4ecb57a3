#!/usr/bin/env bash
# Lab veth-pair, built by hand: the commands netlab up runs, as ip and nft.
# The smallest network there is: two namespaces, a and b, joined by one veth
# pair. A veth is a virtual cable: what one end sends, the other end receives.
# Each end has an IPv4 and an IPv6 address in the same subnet, so the two
# nodes reach each other directly, with no router: ARP (IPv4) and neighbour
# discovery (IPv6) find the other end's MAC, and that is all.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node a
ip netns add veth-pair.a
ip netns exec veth-pair.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n veth-pair.a link set lo alias netlab:veth-pair:a up
# node b
ip netns add veth-pair.b
ip netns exec veth-pair.b sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n veth-pair.b link set lo alias netlab:veth-pair:b up

# --- veth pairs and other links
# node a
ip -n veth-pair.a link add eth0 type veth peer name eth0 netns veth-pair.b
ip -n veth-pair.a link set eth0 alias netlab:veth-pair:b:eth0 up
ip -n veth-pair.b link set eth0 alias netlab:veth-pair:a:eth0 up

# --- addresses
# node a
ip -n veth-pair.a addr add 10.0.0.1/24 dev eth0
ip -n veth-pair.a addr add fd00:10::1/64 dev eth0 nodad
# node b
ip -n veth-pair.b addr add 10.0.0.2/24 dev eth0
ip -n veth-pair.b addr add fd00:10::2/64 dev eth0 nodad

# --- hosts files: every node by name
# node a
mkdir -p /etc/netns/veth-pair.a && cat >/etc/netns/veth-pair.a/hosts <<'EOF'
# netlab: written by netlab up for lab veth-pair; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 a
fd00:10::1 a
10.0.0.1 a-eth0
fd00:10::1 a-eth0
10.0.0.2 b
fd00:10::2 b
10.0.0.2 b-eth0
fd00:10::2 b-eth0
EOF
# node b
mkdir -p /etc/netns/veth-pair.b && cat >/etc/netns/veth-pair.b/hosts <<'EOF'
# netlab: written by netlab up for lab veth-pair; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 a
fd00:10::1 a
10.0.0.1 a-eth0
fd00:10::1 a-eth0
10.0.0.2 b
fd00:10::2 b
10.0.0.2 b-eth0
fd00:10::2 b-eth0
EOF
