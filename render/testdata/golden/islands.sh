#!/usr/bin/env bash
# Lab islands, built by hand: the commands netlab up runs, as ip and nft.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node alone
ip netns add islands.alone
ip netns exec islands.alone sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n islands.alone link set lo alias netlab:islands:alone up
# node p1
ip netns add islands.p1
ip netns exec islands.p1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n islands.p1 link set lo alias netlab:islands:p1 up
# node p2
ip netns add islands.p2
ip netns exec islands.p2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n islands.p2 link set lo alias netlab:islands:p2 up
# node q1
ip netns add islands.q1
ip netns exec islands.q1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n islands.q1 link set lo alias netlab:islands:q1 up
# node q2
ip netns add islands.q2
ip netns exec islands.q2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n islands.q2 link set lo alias netlab:islands:q2 up
# node q3
ip netns add islands.q3
ip netns exec islands.q3 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n islands.q3 link set lo alias netlab:islands:q3 up

# --- veth pairs and other links
# node p1
ip -n islands.p1 link add e0 type veth peer name e0 netns islands.p2
ip -n islands.p1 link set e0 alias netlab:islands:p2:e0 up
ip -n islands.p2 link set e0 alias netlab:islands:p1:e0 up
# node q1
ip -n islands.q1 link add e0 type veth peer name e0 netns islands.q2
ip -n islands.q1 link set e0 alias netlab:islands:q2:e0 up
ip -n islands.q2 link set e0 alias netlab:islands:q1:e0 up
ip -n islands.q1 link add e1 type veth peer name e0 netns islands.q3
ip -n islands.q1 link set e1 alias netlab:islands:q3:e0 mtu 1400 up
ip -n islands.q3 link set e0 alias netlab:islands:q1:e1 mtu 1400 up

# --- addresses
# node p1
ip -n islands.p1 addr add 10.1.0.1/31 dev e0
# node p2
ip -n islands.p2 addr add 10.1.0.0/31 dev e0
# node q1
ip -n islands.q1 addr add 10.2.0.1/24 dev e0
ip -n islands.q1 addr add 10.3.0.1/24 dev e1
# node q2
ip -n islands.q2 addr add 10.2.0.2/24 dev e0
# node q3
ip -n islands.q3 addr add 10.3.0.2/24 dev e0

# --- routes
# node q1
ip -n islands.q1 route replace 10.9.0.0/16 via 10.3.0.2 metric 10 proto 78

# --- sysctls
# node q1
ip netns exec islands.q1 sysctl -qw net.ipv4.ip_forward=1

# --- hosts files: every node by name
# node alone
mkdir -p /etc/netns/islands.alone && cat >/etc/netns/islands.alone/hosts <<'EOF'
# netlab: written by netlab up for lab islands; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.0.1 p1
10.1.0.1 p1-e0
10.1.0.0 p2
10.1.0.0 p2-e0
10.2.0.1 q1
10.2.0.1 q1-e0
10.3.0.1 q1-e1
10.2.0.2 q2
10.2.0.2 q2-e0
10.3.0.2 q3
10.3.0.2 q3-e0
EOF
# node p1
mkdir -p /etc/netns/islands.p1 && cat >/etc/netns/islands.p1/hosts <<'EOF'
# netlab: written by netlab up for lab islands; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.0.1 p1
10.1.0.1 p1-e0
10.1.0.0 p2
10.1.0.0 p2-e0
10.2.0.1 q1
10.2.0.1 q1-e0
10.3.0.1 q1-e1
10.2.0.2 q2
10.2.0.2 q2-e0
10.3.0.2 q3
10.3.0.2 q3-e0
EOF
# node p2
mkdir -p /etc/netns/islands.p2 && cat >/etc/netns/islands.p2/hosts <<'EOF'
# netlab: written by netlab up for lab islands; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.0.1 p1
10.1.0.1 p1-e0
10.1.0.0 p2
10.1.0.0 p2-e0
10.2.0.1 q1
10.2.0.1 q1-e0
10.3.0.1 q1-e1
10.2.0.2 q2
10.2.0.2 q2-e0
10.3.0.2 q3
10.3.0.2 q3-e0
EOF
# node q1
mkdir -p /etc/netns/islands.q1 && cat >/etc/netns/islands.q1/hosts <<'EOF'
# netlab: written by netlab up for lab islands; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.0.1 p1
10.1.0.1 p1-e0
10.1.0.0 p2
10.1.0.0 p2-e0
10.2.0.1 q1
10.2.0.1 q1-e0
10.3.0.1 q1-e1
10.2.0.2 q2
10.2.0.2 q2-e0
10.3.0.2 q3
10.3.0.2 q3-e0
EOF
# node q2
mkdir -p /etc/netns/islands.q2 && cat >/etc/netns/islands.q2/hosts <<'EOF'
# netlab: written by netlab up for lab islands; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.0.1 p1
10.1.0.1 p1-e0
10.1.0.0 p2
10.1.0.0 p2-e0
10.2.0.1 q1
10.2.0.1 q1-e0
10.3.0.1 q1-e1
10.2.0.2 q2
10.2.0.2 q2-e0
10.3.0.2 q3
10.3.0.2 q3-e0
EOF
# node q3
mkdir -p /etc/netns/islands.q3 && cat >/etc/netns/islands.q3/hosts <<'EOF'
# netlab: written by netlab up for lab islands; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.0.1 p1
10.1.0.1 p1-e0
10.1.0.0 p2
10.1.0.0 p2-e0
10.2.0.1 q1
10.2.0.1 q1-e0
10.3.0.1 q1-e1
10.2.0.2 q2
10.2.0.2 q2-e0
10.3.0.2 q3
10.3.0.2 q3-e0
EOF
