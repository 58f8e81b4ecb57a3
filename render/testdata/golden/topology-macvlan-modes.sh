#!/usr/bin/env bash
# Lab mv-modes, built by hand: the commands netlab up runs, as ip and nft.
# MACVLAN modes side by side. A host has three uplinks to a switch node, and
# each uplink carries two MACVLANs in one mode. In bridge mode the two reach
# each other inside the host. In private mode they never do, even through the
# wire. In vepa mode every frame goes out on the wire, so the two reach each
# other only if the switch sends frames back out of the port they came in on
# (reflective relay, "hairpin"); this switch does not, so they don't. All six
# reach the switch.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node b1
ip netns add mv-modes.b1
ip netns exec mv-modes.b1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.b1 link set lo alias netlab:mv-modes:b1 up
# node b2
ip netns add mv-modes.b2
ip netns exec mv-modes.b2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.b2 link set lo alias netlab:mv-modes:b2 up
# node host
ip netns add mv-modes.host
ip netns exec mv-modes.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.host link set lo alias netlab:mv-modes:host up
# node p1
ip netns add mv-modes.p1
ip netns exec mv-modes.p1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.p1 link set lo alias netlab:mv-modes:p1 up
# node p2
ip netns add mv-modes.p2
ip netns exec mv-modes.p2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.p2 link set lo alias netlab:mv-modes:p2 up
# node sw
ip netns add mv-modes.sw
ip netns exec mv-modes.sw sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.sw link set lo alias netlab:mv-modes:sw up
# node v1
ip netns add mv-modes.v1
ip netns exec mv-modes.v1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.v1 link set lo alias netlab:mv-modes:v1 up
# node v2
ip netns add mv-modes.v2
ip netns exec mv-modes.v2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n mv-modes.v2 link set lo alias netlab:mv-modes:v2 up

# --- veth pairs and other links
# node host
ip -n mv-modes.host link add name ethb type veth peer name swb netns mv-modes.sw
ip -n mv-modes.host link set dev ethb alias netlab:mv-modes:sw:swb up
ip -n mv-modes.sw link set dev swb alias netlab:mv-modes:host:ethb up
ip -n mv-modes.host link add name ethp type veth peer name swp netns mv-modes.sw
ip -n mv-modes.host link set dev ethp alias netlab:mv-modes:sw:swp up
ip -n mv-modes.sw link set dev swp alias netlab:mv-modes:host:ethp up
ip -n mv-modes.host link add name ethv type veth peer name swv netns mv-modes.sw
ip -n mv-modes.host link set dev ethv alias netlab:mv-modes:sw:swv up
ip -n mv-modes.sw link set dev swv alias netlab:mv-modes:host:ethv up

# --- links on top of other links
# node b1
ip -n mv-modes.host link add mv0 link ethb netns mv-modes.b1 type macvlan mode bridge
ip -n mv-modes.b1 link set mv0 alias netlab:mv-modes:host:ethb up
# node b2
ip -n mv-modes.host link add mv0 link ethb netns mv-modes.b2 type macvlan mode bridge
ip -n mv-modes.b2 link set mv0 alias netlab:mv-modes:host:ethb up
# node p1
ip -n mv-modes.host link add mv0 link ethp netns mv-modes.p1 type macvlan mode private
ip -n mv-modes.p1 link set mv0 alias netlab:mv-modes:host:ethp up
# node p2
ip -n mv-modes.host link add mv0 link ethp netns mv-modes.p2 type macvlan mode private
ip -n mv-modes.p2 link set mv0 alias netlab:mv-modes:host:ethp up
# node v1
ip -n mv-modes.host link add mv0 link ethv netns mv-modes.v1 type macvlan mode vepa
ip -n mv-modes.v1 link set mv0 alias netlab:mv-modes:host:ethv up
# node v2
ip -n mv-modes.host link add mv0 link ethv netns mv-modes.v2 type macvlan mode vepa
ip -n mv-modes.v2 link set mv0 alias netlab:mv-modes:host:ethv up

# --- addresses
# node b1
ip -n mv-modes.b1 addr add 10.1.1.11/24 dev mv0
# node b2
ip -n mv-modes.b2 addr add 10.1.1.12/24 dev mv0
# node p1
ip -n mv-modes.p1 addr add 10.1.2.11/24 dev mv0
# node p2
ip -n mv-modes.p2 addr add 10.1.2.12/24 dev mv0
# node sw
ip -n mv-modes.sw addr add 10.1.1.1/24 dev swb
ip -n mv-modes.sw addr add 10.1.2.1/24 dev swp
ip -n mv-modes.sw addr add 10.1.3.1/24 dev swv
# node v1
ip -n mv-modes.v1 addr add 10.1.3.11/24 dev mv0
# node v2
ip -n mv-modes.v2 addr add 10.1.3.12/24 dev mv0

# --- hosts files: every node by name
# node b1
mkdir -p /etc/netns/mv-modes.b1 && cat >/etc/netns/mv-modes.b1/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node b2
mkdir -p /etc/netns/mv-modes.b2 && cat >/etc/netns/mv-modes.b2/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node host
mkdir -p /etc/netns/mv-modes.host && cat >/etc/netns/mv-modes.host/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node p1
mkdir -p /etc/netns/mv-modes.p1 && cat >/etc/netns/mv-modes.p1/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node p2
mkdir -p /etc/netns/mv-modes.p2 && cat >/etc/netns/mv-modes.p2/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node sw
mkdir -p /etc/netns/mv-modes.sw && cat >/etc/netns/mv-modes.sw/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node v1
mkdir -p /etc/netns/mv-modes.v1 && cat >/etc/netns/mv-modes.v1/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
# node v2
mkdir -p /etc/netns/mv-modes.v2 && cat >/etc/netns/mv-modes.v2/hosts <<'EOF'
# netlab: written by netlab up for lab mv-modes; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.1.1 sw
10.1.1.1 sw-swb
10.1.2.1 sw-swp
10.1.3.1 sw-swv
10.1.1.11 b1
10.1.1.11 b1-mv0
10.1.1.12 b2
10.1.1.12 b2-mv0
10.1.2.11 p1
10.1.2.11 p1-mv0
10.1.2.12 p2
10.1.2.12 p2-mv0
10.1.3.11 v1
10.1.3.11 v1-mv0
10.1.3.12 v2
10.1.3.12 v2-mv0
EOF
