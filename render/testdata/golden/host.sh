#!/usr/bin/env bash
# Lab hostlab, built by hand: the commands netlab up runs, as ip and nft.
# A host node (the machine's own namespace) wired to one container.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add hostlab.c1
ip netns exec hostlab.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n hostlab.c1 link set lo alias netlab:hostlab:c1 up

# --- veth pairs and other links
# node c1
ip -n hostlab.c1 link add eth0 type veth peer name nl-c1 netns 1
ip -n hostlab.c1 link set eth0 alias netlab:hostlab:machine:nl-c1 up
ip link set nl-c1 alias netlab:hostlab:c1:eth0 up

# --- addresses
# node c1
ip -n hostlab.c1 addr add 172.31.0.2/24 dev eth0
# node machine
ip addr add 172.31.0.1/24 dev nl-c1

# --- routes
# node c1
ip -n hostlab.c1 route replace default via 172.31.0.1 proto 78

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/hostlab.c1 && cat >/etc/netns/hostlab.c1/hosts <<'EOF'
# netlab: written by netlab up for lab hostlab; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.31.0.1 machine
172.31.0.1 machine-nl-c1
172.31.0.2 c1
172.31.0.2 c1-eth0
EOF
