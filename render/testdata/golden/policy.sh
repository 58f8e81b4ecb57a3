#!/usr/bin/env bash
# Lab policy, built by hand: the commands netlab up runs, as ip and nft.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node g
ip netns add policy.g
ip netns exec policy.g sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy.g link set lo alias netlab:policy:g up
# node h
ip netns add policy.h
ip netns exec policy.h sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy.h link set lo alias netlab:policy:h up
# node r
ip netns add policy.r
ip netns exec policy.r sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy.r link set lo alias netlab:policy:r up

# --- veth pairs and other links
# node g
ip -n policy.g link add eth0 type veth peer name eth1 netns policy.r
ip -n policy.g link set eth0 alias netlab:policy:r:eth1 up
ip -n policy.r link set eth1 alias netlab:policy:g:eth0 up
# node h
ip -n policy.h link add eth0 type veth peer name eth0 netns policy.r
ip -n policy.h link set eth0 alias netlab:policy:r:eth0 up
ip -n policy.r link set eth0 alias netlab:policy:h:eth0 up

# --- addresses
# node g
ip -n policy.g addr add 10.0.1.2/24 dev eth0
# node h
ip -n policy.h addr add 10.0.0.253/24 dev eth0
ip -n policy.h addr add 10.0.0.254/24 dev eth0
ip -n policy.h addr add 2001:db8::fe/64 dev eth0 nodad
# node r
ip -n policy.r addr add 10.0.0.1/24 dev eth0
ip -n policy.r addr add 10.0.1.1/24 dev eth1
ip -n policy.r addr add 2001:db8::1/64 dev eth0 nodad

# --- routes
# node r
ip -n policy.r -4 rule add priority 1000 from 10.1.0.0/24 table 100 proto 78
ip -n policy.r -4 rule add priority 1002 iif eth0 fwmark 0x10/0xff table 254 proto 78
ip -n policy.r -4 rule add priority 5 oif eth1 fwmark 0x7 table 200 proto 78
ip -n policy.r -6 rule add priority 10 to 2001:db8:9::/48 table 4294967294 proto 78
ip -n policy.r -6 rule add priority 1002 iif eth0 fwmark 0x10/0xff table 254 proto 78
ip -n policy.r -6 rule add priority 5 oif eth1 fwmark 0x7 table 200 proto 78
ip -n policy.r route replace default via 10.0.0.253 proto 78
ip -n policy.r route replace default via 10.0.0.254 table 100 proto 78
ip -n policy.r route replace 10.9.0.0/16 dev eth1 metric 5 table 200 proto 78
ip -n policy.r route replace default via 2001:db8::fe metric 1024 table 4294967294 proto 78

# --- hosts files: every node by name
# node g
mkdir -p /etc/netns/policy.g && cat >/etc/netns/policy.g/hosts <<'EOF'
# netlab: written by netlab up for lab policy; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 r
2001:db8::1 r
10.0.0.1 r-eth0
2001:db8::1 r-eth0
10.0.1.1 r-eth1
10.0.0.254 h
2001:db8::fe h
10.0.0.254 h-eth0
10.0.0.253 h-eth0
2001:db8::fe h-eth0
10.0.1.2 g
10.0.1.2 g-eth0
EOF
# node h
mkdir -p /etc/netns/policy.h && cat >/etc/netns/policy.h/hosts <<'EOF'
# netlab: written by netlab up for lab policy; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 r
2001:db8::1 r
10.0.0.1 r-eth0
2001:db8::1 r-eth0
10.0.1.1 r-eth1
10.0.0.254 h
2001:db8::fe h
10.0.0.254 h-eth0
10.0.0.253 h-eth0
2001:db8::fe h-eth0
10.0.1.2 g
10.0.1.2 g-eth0
EOF
# node r
mkdir -p /etc/netns/policy.r && cat >/etc/netns/policy.r/hosts <<'EOF'
# netlab: written by netlab up for lab policy; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 r
2001:db8::1 r
10.0.0.1 r-eth0
2001:db8::1 r-eth0
10.0.1.1 r-eth1
10.0.0.254 h
2001:db8::fe h
10.0.0.254 h-eth0
10.0.0.253 h-eth0
2001:db8::fe h-eth0
10.0.1.2 g
10.0.1.2 g-eth0
EOF
