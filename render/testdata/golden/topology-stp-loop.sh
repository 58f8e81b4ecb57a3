#!/usr/bin/env bash
# Lab stp-loop, built by hand: the commands netlab up runs, as ip and nft.
# Three switches wired in a triangle, a loop that would carry every broadcast
# round for ever. Each runs the spanning tree protocol (the kernel's STP,
# bridge stp: true): s1 has the lowest priority and is the root, and one port
# of the triangle, on s2 or s3, is blocking, so that the three switches form a
# tree. Timers are short (forward delay 2s, hello 1s) so that up returns on a
# settled tree in seconds. A host on each switch reaches the other two, across
# the tree.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node h1
ip netns add stp-loop.h1
ip netns exec stp-loop.h1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n stp-loop.h1 link set lo alias netlab:stp-loop:h1 up
# node h2
ip netns add stp-loop.h2
ip netns exec stp-loop.h2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n stp-loop.h2 link set lo alias netlab:stp-loop:h2 up
# node h3
ip netns add stp-loop.h3
ip netns exec stp-loop.h3 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n stp-loop.h3 link set lo alias netlab:stp-loop:h3 up
# node s1
ip netns add stp-loop.s1
ip netns exec stp-loop.s1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n stp-loop.s1 link set lo alias netlab:stp-loop:s1 up
# node s2
ip netns add stp-loop.s2
ip netns exec stp-loop.s2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n stp-loop.s2 link set lo alias netlab:stp-loop:s2 up
# node s3
ip netns add stp-loop.s3
ip netns exec stp-loop.s3 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n stp-loop.s3 link set lo alias netlab:stp-loop:s3 up

# --- bridges
# node s1
ip -n stp-loop.s1 link add br0 type bridge stp_state 1 forward_delay 200 hello_time 100 max_age 600 priority 4096
ip -n stp-loop.s1 link set br0 alias netlab:stp-loop up
# node s2
ip -n stp-loop.s2 link add br0 type bridge stp_state 1 forward_delay 200 hello_time 100 max_age 600 priority 8192
ip -n stp-loop.s2 link set br0 alias netlab:stp-loop up
# node s3
ip -n stp-loop.s3 link add br0 type bridge stp_state 1 forward_delay 200 hello_time 100 max_age 600 priority 32768
ip -n stp-loop.s3 link set br0 alias netlab:stp-loop up

# --- veth pairs and other links
# node h1
ip -n stp-loop.h1 link add eth0 type veth peer name h netns stp-loop.s1
ip -n stp-loop.h1 link set eth0 alias netlab:stp-loop:s1:h up
ip -n stp-loop.s1 link set dev h alias netlab:stp-loop:h1:eth0 master br0 up
# node h2
ip -n stp-loop.h2 link add eth0 type veth peer name h netns stp-loop.s2
ip -n stp-loop.h2 link set eth0 alias netlab:stp-loop:s2:h up
ip -n stp-loop.s2 link set dev h alias netlab:stp-loop:h2:eth0 master br0 up
# node h3
ip -n stp-loop.h3 link add eth0 type veth peer name h netns stp-loop.s3
ip -n stp-loop.h3 link set eth0 alias netlab:stp-loop:s3:h up
ip -n stp-loop.s3 link set dev h alias netlab:stp-loop:h3:eth0 master br0 up
# node s1
ip -n stp-loop.s1 link add to2 type veth peer name to1 netns stp-loop.s2
ip -n stp-loop.s1 link set to2 alias netlab:stp-loop:s2:to1 master br0 up
ip -n stp-loop.s2 link set to1 alias netlab:stp-loop:s1:to2 master br0 up
ip -n stp-loop.s1 link add to3 type veth peer name to1 netns stp-loop.s3
ip -n stp-loop.s1 link set to3 alias netlab:stp-loop:s3:to1 master br0 up
ip -n stp-loop.s3 link set to1 alias netlab:stp-loop:s1:to3 master br0 up
# node s2
ip -n stp-loop.s2 link add to3 type veth peer name to2 netns stp-loop.s3
ip -n stp-loop.s2 link set to3 alias netlab:stp-loop:s3:to2 master br0 up
ip -n stp-loop.s3 link set to2 alias netlab:stp-loop:s2:to3 master br0 up

# --- addresses
# node h1
ip -n stp-loop.h1 addr add 10.1.7.1/24 dev eth0
# node h2
ip -n stp-loop.h2 addr add 10.1.7.2/24 dev eth0
# node h3
ip -n stp-loop.h3 addr add 10.1.7.3/24 dev eth0

# --- hosts files: every node by name
# node h1
mkdir -p /etc/netns/stp-loop.h1 && cat >/etc/netns/stp-loop.h1/hosts <<'EOF'
# netlab: written by netlab up for lab stp-loop; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.7.1 h1
10.1.7.1 h1-eth0
10.1.7.2 h2
10.1.7.2 h2-eth0
10.1.7.3 h3
10.1.7.3 h3-eth0
EOF
# node h2
mkdir -p /etc/netns/stp-loop.h2 && cat >/etc/netns/stp-loop.h2/hosts <<'EOF'
# netlab: written by netlab up for lab stp-loop; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.7.1 h1
10.1.7.1 h1-eth0
10.1.7.2 h2
10.1.7.2 h2-eth0
10.1.7.3 h3
10.1.7.3 h3-eth0
EOF
# node h3
mkdir -p /etc/netns/stp-loop.h3 && cat >/etc/netns/stp-loop.h3/hosts <<'EOF'
# netlab: written by netlab up for lab stp-loop; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.7.1 h1
10.1.7.1 h1-eth0
10.1.7.2 h2
10.1.7.2 h2-eth0
10.1.7.3 h3
10.1.7.3 h3-eth0
EOF
# node s1
mkdir -p /etc/netns/stp-loop.s1 && cat >/etc/netns/stp-loop.s1/hosts <<'EOF'
# netlab: written by netlab up for lab stp-loop; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.7.1 h1
10.1.7.1 h1-eth0
10.1.7.2 h2
10.1.7.2 h2-eth0
10.1.7.3 h3
10.1.7.3 h3-eth0
EOF
# node s2
mkdir -p /etc/netns/stp-loop.s2 && cat >/etc/netns/stp-loop.s2/hosts <<'EOF'
# netlab: written by netlab up for lab stp-loop; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.7.1 h1
10.1.7.1 h1-eth0
10.1.7.2 h2
10.1.7.2 h2-eth0
10.1.7.3 h3
10.1.7.3 h3-eth0
EOF
# node s3
mkdir -p /etc/netns/stp-loop.s3 && cat >/etc/netns/stp-loop.s3/hosts <<'EOF'
# netlab: written by netlab up for lab stp-loop; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.7.1 h1
10.1.7.1 h1-eth0
10.1.7.2 h2
10.1.7.2 h2-eth0
10.1.7.3 h3
10.1.7.3 h3-eth0
EOF
