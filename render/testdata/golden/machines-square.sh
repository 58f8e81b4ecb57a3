#!/usr/bin/env bash
# Lab square, built by hand: the commands netlab up runs, as ip and nft.
# four nodes in a square over two machines, two of its sides between them
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
# The lab is spread over machines: run each machine's part on that machine.
set -euo pipefail

# machine m1 (203.0.113.1): run this part on m1

# --- namespaces: one per node
# node a
ip netns add square.a
ip netns exec square.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n square.a link set lo alias netlab:square:a up
# node b
ip netns add square.b
ip netns exec square.b sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n square.b link set lo alias netlab:square:b up

# --- veth pairs and other links
# node a
ip -n square.a link add e1 type veth peer name e1 netns square.b
ip -n square.a link set e1 alias netlab:square:b:e1 up
ip -n square.b link set e1 alias netlab:square:a:e1 up

# --- links on top of other links
# node a
ip link add e2 netns square.a type vxlan id 14807789 remote 203.0.113.2 local 203.0.113.1 dstport 4789 nolearning
ip -n square.a link set e2 alias netlab:square mtu 1450 up
# node b
ip link add e2 netns square.b type vxlan id 15076534 remote 203.0.113.2 local 203.0.113.1 dstport 4789 nolearning
ip -n square.b link set e2 alias netlab:square mtu 1450 up

# --- addresses
# node a
ip -n square.a addr add 10.0.1.1/24 dev e1
ip -n square.a addr add 10.0.2.1/24 dev e2
# node b
ip -n square.b addr add 10.0.1.2/24 dev e1
ip -n square.b addr add 10.0.3.1/24 dev e2

# --- hosts files: every node by name
# node a
mkdir -p /etc/netns/square.a && cat >/etc/netns/square.a/hosts <<'EOF'
# netlab: written by netlab up for lab square; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 a
10.0.1.1 a-e1
10.0.2.1 a-e2
10.0.1.2 b
10.0.1.2 b-e1
10.0.3.1 b-e2
10.0.2.2 c
10.0.2.2 c-e1
10.0.4.1 c-e2
10.0.4.2 d
10.0.4.2 d-e1
10.0.3.2 d-e2
EOF
# node b
mkdir -p /etc/netns/square.b && cat >/etc/netns/square.b/hosts <<'EOF'
# netlab: written by netlab up for lab square; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 a
10.0.1.1 a-e1
10.0.2.1 a-e2
10.0.1.2 b
10.0.1.2 b-e1
10.0.3.1 b-e2
10.0.2.2 c
10.0.2.2 c-e1
10.0.4.1 c-e2
10.0.4.2 d
10.0.4.2 d-e1
10.0.3.2 d-e2
EOF

# machine m2 (203.0.113.2): run this part on m2

# --- namespaces: one per node
# node c
ip netns add square.c
ip netns exec square.c sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n square.c link set lo alias netlab:square:c up
# node d
ip netns add square.d
ip netns exec square.d sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n square.d link set lo alias netlab:square:d up

# --- veth pairs and other links
# node c
ip -n square.c link add e2 type veth peer name e1 netns square.d
ip -n square.c link set e2 alias netlab:square:d:e1 up
ip -n square.d link set e1 alias netlab:square:c:e2 up

# --- links on top of other links
# node c
ip link add e1 netns square.c type vxlan id 14807789 remote 203.0.113.1 local 203.0.113.2 dstport 4789 nolearning
ip -n square.c link set e1 alias netlab:square mtu 1450 up
# node d
ip link add e2 netns square.d type vxlan id 15076534 remote 203.0.113.1 local 203.0.113.2 dstport 4789 nolearning
ip -n square.d link set e2 alias netlab:square mtu 1450 up

# --- addresses
# node c
ip -n square.c addr add 10.0.2.2/24 dev e1
ip -n square.c addr add 10.0.4.1/24 dev e2
# node d
ip -n square.d addr add 10.0.3.2/24 dev e2
ip -n square.d addr add 10.0.4.2/24 dev e1

# --- hosts files: every node by name
# node c
mkdir -p /etc/netns/square.c && cat >/etc/netns/square.c/hosts <<'EOF'
# netlab: written by netlab up for lab square; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 a
10.0.1.1 a-e1
10.0.2.1 a-e2
10.0.1.2 b
10.0.1.2 b-e1
10.0.3.1 b-e2
10.0.2.2 c
10.0.2.2 c-e1
10.0.4.1 c-e2
10.0.4.2 d
10.0.4.2 d-e1
10.0.3.2 d-e2
EOF
# node d
mkdir -p /etc/netns/square.d && cat >/etc/netns/square.d/hosts <<'EOF'
# netlab: written by netlab up for lab square; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 a
10.0.1.1 a-e1
10.0.2.1 a-e2
10.0.1.2 b
10.0.1.2 b-e1
10.0.3.1 b-e2
10.0.2.2 c
10.0.2.2 c-e1
10.0.4.1 c-e2
10.0.4.2 d
10.0.4.2 d-e1
10.0.3.2 d-e2
EOF
