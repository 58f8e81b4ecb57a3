#!/usr/bin/env bash
# Lab macvlan, built by hand: the commands netlab up runs, as ip and nft.
# Two containers get MACVLAN interfaces on the uplink of a host, as Docker's
# macvlan driver does: they sit on the uplink's segment with their own MACs
# and reach the router there, and each other (bridge mode), but never the host
# itself through the MACVLAN. Change both modes to private and the two
# containers no longer reach each other.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add macvlan.c1
ip netns exec macvlan.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n macvlan.c1 link set lo alias netlab:macvlan:c1 up
# node c2
ip netns add macvlan.c2
ip netns exec macvlan.c2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n macvlan.c2 link set lo alias netlab:macvlan:c2 up
# node host
ip netns add macvlan.host
ip netns exec macvlan.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n macvlan.host link set lo alias netlab:macvlan:host up
# node router
ip netns add macvlan.router
ip netns exec macvlan.router sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n macvlan.router link set lo alias netlab:macvlan:router up

# --- veth pairs and other links
# node host
ip -n macvlan.host link add eth0 type veth peer name eth0 netns macvlan.router
ip -n macvlan.host link set eth0 alias netlab:macvlan:router:eth0 up
ip -n macvlan.router link set eth0 alias netlab:macvlan:host:eth0 up

# --- links on top of other links
# node c1
ip -n macvlan.host link add mv0 link eth0 netns macvlan.c1 type macvlan mode bridge
ip -n macvlan.c1 link set mv0 alias netlab:macvlan:host:eth0 up
# node c2
ip -n macvlan.host link add mv0 link eth0 netns macvlan.c2 type macvlan mode bridge
ip -n macvlan.c2 link set mv0 alias netlab:macvlan:host:eth0 up

# --- addresses
# node c1
ip -n macvlan.c1 addr add 198.51.100.21/24 dev mv0
# node c2
ip -n macvlan.c2 addr add 198.51.100.22/24 dev mv0
# node host
ip -n macvlan.host addr add 198.51.100.10/24 dev eth0
# node router
ip -n macvlan.router addr add 198.51.100.1/24 dev eth0

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/macvlan.c1 && cat >/etc/netns/macvlan.c1/hosts <<'EOF'
# netlab: written by netlab up for lab macvlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
198.51.100.10 host
198.51.100.10 host-eth0
198.51.100.1 router
198.51.100.1 router-eth0
198.51.100.21 c1
198.51.100.21 c1-mv0
198.51.100.22 c2
198.51.100.22 c2-mv0
EOF
# node c2
mkdir -p /etc/netns/macvlan.c2 && cat >/etc/netns/macvlan.c2/hosts <<'EOF'
# netlab: written by netlab up for lab macvlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
198.51.100.10 host
198.51.100.10 host-eth0
198.51.100.1 router
198.51.100.1 router-eth0
198.51.100.21 c1
198.51.100.21 c1-mv0
198.51.100.22 c2
198.51.100.22 c2-mv0
EOF
# node host
mkdir -p /etc/netns/macvlan.host && cat >/etc/netns/macvlan.host/hosts <<'EOF'
# netlab: written by netlab up for lab macvlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
198.51.100.10 host
198.51.100.10 host-eth0
198.51.100.1 router
198.51.100.1 router-eth0
198.51.100.21 c1
198.51.100.21 c1-mv0
198.51.100.22 c2
198.51.100.22 c2-mv0
EOF
# node router
mkdir -p /etc/netns/macvlan.router && cat >/etc/netns/macvlan.router/hosts <<'EOF'
# netlab: written by netlab up for lab macvlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
198.51.100.10 host
198.51.100.10 host-eth0
198.51.100.1 router
198.51.100.1 router-eth0
198.51.100.21 c1
198.51.100.21 c1-mv0
198.51.100.22 c2
198.51.100.22 c2-mv0
EOF
