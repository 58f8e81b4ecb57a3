#!/usr/bin/env bash
# Lab names-2, built by hand: the commands netlab up runs, as ip and nft.
# Names that need quoting in dot and escaping in SVG <&"'>.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node r-1
ip netns add names-2.r-1
ip netns exec names-2.r-1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n names-2.r-1 link set lo alias netlab:names-2:r-1 up
# node x2-y
ip netns add names-2.x2-y
ip netns exec names-2.x2-y sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n names-2.x2-y link set lo alias netlab:names-2:x2-y up
# node z9
ip netns add names-2.z9
ip netns exec names-2.z9 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n names-2.z9 link set lo alias netlab:names-2:z9 up

# --- veth pairs and other links
# node r-1
ip -n names-2.r-1 link add 0eth.1 type veth peer name eth-0.5 netns names-2.x2-y
ip -n names-2.r-1 link set 0eth.1 alias netlab:names-2:x2-y:eth-0.5 up
ip -n names-2.x2-y link set eth-0.5 alias netlab:names-2:r-1:0eth.1 up
ip -n names-2.r-1 link add name 'we"ird<&>' type veth peer name 'x"y' netns names-2.z9
ip -n names-2.r-1 link set dev 'we"ird<&>' alias 'netlab:names-2:z9:x"y' up
ip -n names-2.z9 link set dev 'x"y' alias 'netlab:names-2:r-1:we"ird<&>' up

# --- addresses
# node r-1
ip -n names-2.r-1 addr add 10.0.0.1/24 dev 0eth.1
ip -n names-2.r-1 addr add 10.0.1.1/24 dev 'we"ird<&>'
ip -n names-2.r-1 addr add 2001:db8::1/64 dev 0eth.1 nodad
# node x2-y
ip -n names-2.x2-y addr add 10.0.0.2/24 dev eth-0.5
# node z9
ip -n names-2.z9 addr add 10.0.1.2/24 dev 'x"y'

# --- hosts files: every node by name
# node r-1
mkdir -p /etc/netns/names-2.r-1 && cat >/etc/netns/names-2.r-1/hosts <<'EOF'
# netlab: written by netlab up for lab names-2; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 r-1
2001:db8::1 r-1
10.0.0.1 r-1-0eth.1
2001:db8::1 r-1-0eth.1
10.0.1.1 r-1-we"ird<&>
10.0.0.2 x2-y
10.0.0.2 x2-y-eth-0.5
10.0.1.2 z9
10.0.1.2 z9-x"y
EOF
# node x2-y
mkdir -p /etc/netns/names-2.x2-y && cat >/etc/netns/names-2.x2-y/hosts <<'EOF'
# netlab: written by netlab up for lab names-2; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 r-1
2001:db8::1 r-1
10.0.0.1 r-1-0eth.1
2001:db8::1 r-1-0eth.1
10.0.1.1 r-1-we"ird<&>
10.0.0.2 x2-y
10.0.0.2 x2-y-eth-0.5
10.0.1.2 z9
10.0.1.2 z9-x"y
EOF
# node z9
mkdir -p /etc/netns/names-2.z9 && cat >/etc/netns/names-2.z9/hosts <<'EOF'
# netlab: written by netlab up for lab names-2; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 r-1
2001:db8::1 r-1
10.0.0.1 r-1-0eth.1
2001:db8::1 r-1-0eth.1
10.0.1.1 r-1-we"ird<&>
10.0.0.2 x2-y
10.0.0.2 x2-y-eth-0.5
10.0.1.2 z9
10.0.1.2 z9-x"y
EOF
