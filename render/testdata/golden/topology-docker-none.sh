#!/usr/bin/env bash
# Lab docker-none, built by hand: the commands netlab up runs, as ip and nft.
# Docker's "none" network mode: container c2 gets a network namespace with
# only its loopback interface, lo, and nothing else: no veth, no address but
# 127.0.0.1, no route. It can talk to itself and to no one else. Container c1
# next to it is in the default "bridge" mode for contrast: a veth to the
# host's bridge, an address and a default route.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add docker-none.c1
ip netns exec docker-none.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n docker-none.c1 link set lo alias netlab:docker-none:c1 up
# node c2
ip netns add docker-none.c2
ip netns exec docker-none.c2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n docker-none.c2 link set lo alias netlab:docker-none:c2 up
# node host
ip netns add docker-none.host
ip netns exec docker-none.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n docker-none.host link set lo alias netlab:docker-none:host up

# --- bridges
# node host
ip -n docker-none.host link add br0 type bridge stp_state 0
ip -n docker-none.host link set br0 alias netlab:docker-none up

# --- veth pairs and other links
# node c1
ip -n docker-none.c1 link add eth0 type veth peer name veth1 netns docker-none.host
ip -n docker-none.c1 link set eth0 alias netlab:docker-none:host:veth1 up
ip -n docker-none.host link set veth1 alias netlab:docker-none:c1:eth0 master br0 up

# --- addresses
# node c1
ip -n docker-none.c1 addr add 172.17.0.2/16 dev eth0
# node host
ip -n docker-none.host addr add 172.17.0.1/16 dev br0

# --- routes
# node c1
ip -n docker-none.c1 route replace default via 172.17.0.1 proto 78

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/docker-none.c1 && cat >/etc/netns/docker-none.c1/hosts <<'EOF'
# netlab: written by netlab up for lab docker-none; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
172.17.0.2 c1
172.17.0.2 c1-eth0
EOF
# node c2
mkdir -p /etc/netns/docker-none.c2 && cat >/etc/netns/docker-none.c2/hosts <<'EOF'
# netlab: written by netlab up for lab docker-none; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
172.17.0.2 c1
172.17.0.2 c1-eth0
EOF
# node host
mkdir -p /etc/netns/docker-none.host && cat >/etc/netns/docker-none.host/hosts <<'EOF'
# netlab: written by netlab up for lab docker-none; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
172.17.0.2 c1
172.17.0.2 c1-eth0
EOF
