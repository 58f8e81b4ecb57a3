#!/usr/bin/env bash
# Lab spread, built by hand: the commands netlab up runs, as ip and nft.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
# The lab is spread over machines: run each machine's part on that machine.
set -euo pipefail

# machine m1 (203.0.113.1): run this part on m1

# --- namespaces: one per node
# node a
ip netns add spread.a
ip netns exec spread.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n spread.a link set lo alias netlab:spread:a up
# node d
ip netns add spread.d
ip netns exec spread.d sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n spread.d link set lo alias netlab:spread:d up

# --- bridges
# node a
ip -n spread.a link add br0 type bridge stp_state 0
ip -n spread.a link set br0 alias netlab:spread up

# --- veth pairs and other links
# node a
ip -n spread.a link add p1 type veth peer name eth0 netns spread.d
ip -n spread.a link set p1 alias netlab:spread:d:eth0 master br0 up
ip -n spread.d link set eth0 alias netlab:spread:a:p1 up

# --- links on top of other links
# node a
ip link add eth0 netns spread.a type vxlan id 13435285 remote 203.0.113.2 local 203.0.113.1 dstport 4789 nolearning
ip -n spread.a link set eth0 alias netlab:spread mtu 1450 up
ip link add eth1 netns spread.a type vxlan id 42 remote 203.0.113.3 local 203.0.113.1 dstport 4789 nolearning
ip -n spread.a link set eth1 alias netlab:spread mtu 1400 up

# --- addresses
# node a
ip -n spread.a addr add 10.9.0.1/24 dev eth0
ip -n spread.a addr add 10.9.1.1/24 dev eth1

# --- hosts files: every node by name
# node a
mkdir -p /etc/netns/spread.a && cat >/etc/netns/spread.a/hosts <<'EOF'
# netlab: written by netlab up for lab spread; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.9.0.1 a
10.9.0.1 a-eth0
10.9.1.1 a-eth1
10.9.0.2 b
10.9.0.2 b-eth0
10.9.1.2 c
10.9.1.2 c-eth0
EOF
# node d
mkdir -p /etc/netns/spread.d && cat >/etc/netns/spread.d/hosts <<'EOF'
# netlab: written by netlab up for lab spread; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.9.0.1 a
10.9.0.1 a-eth0
10.9.1.1 a-eth1
10.9.0.2 b
10.9.0.2 b-eth0
10.9.1.2 c
10.9.1.2 c-eth0
EOF

# machine m2 (203.0.113.2): run this part on m2

# --- namespaces: one per node
# node b
ip netns add spread.b
ip netns exec spread.b sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n spread.b link set lo alias netlab:spread:b up

# --- links on top of other links
# node b
ip link add eth0 netns spread.b type vxlan id 13435285 remote 203.0.113.1 local 203.0.113.2 dstport 4789 nolearning
ip -n spread.b link set eth0 alias netlab:spread mtu 1450 up

# --- addresses
# node b
ip -n spread.b addr add 10.9.0.2/24 dev eth0

# --- hosts files: every node by name
# node b
mkdir -p /etc/netns/spread.b && cat >/etc/netns/spread.b/hosts <<'EOF'
# netlab: written by netlab up for lab spread; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.9.0.1 a
10.9.0.1 a-eth0
10.9.1.1 a-eth1
10.9.0.2 b
10.9.0.2 b-eth0
10.9.1.2 c
10.9.1.2 c-eth0
EOF

# machine m3 (203.0.113.3): run this part on m3

# --- namespaces: one per node
# node c
ip netns add spread.c
ip netns exec spread.c sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n spread.c link set lo alias netlab:spread:c up

# --- links on top of other links
# node c
ip link add eth0 netns spread.c type vxlan id 42 remote 203.0.113.1 local 203.0.113.3 dstport 4789 nolearning
ip -n spread.c link set eth0 alias netlab:spread mtu 1400 up

# --- addresses
# node c
ip -n spread.c addr add 10.9.1.2/24 dev eth0

# --- hosts files: every node by name
# node c
mkdir -p /etc/netns/spread.c && cat >/etc/netns/spread.c/hosts <<'EOF'
# netlab: written by netlab up for lab spread; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.9.0.1 a
10.9.0.1 a-eth0
10.9.1.1 a-eth1
10.9.0.2 b
10.9.0.2 b-eth0
10.9.1.2 c
10.9.1.2 c-eth0
EOF
