#!/usr/bin/env bash
# Lab toolbox, built by hand: the commands netlab up runs, as ip and nft.
# link impairment, vlans and an fdb-only vxlan, for the renderers and the
# script round trip
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node a
ip netns add toolbox.a
ip netns exec toolbox.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n toolbox.a link set lo alias netlab:toolbox:a up
# node b
ip netns add toolbox.b
ip netns exec toolbox.b sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n toolbox.b link set lo alias netlab:toolbox:b up

# --- veth pairs and other links
# node a
ip -n toolbox.a link add eth0 type veth peer name eth0 netns toolbox.b
ip -n toolbox.a link set eth0 alias netlab:toolbox:b:eth0 up
ip -n toolbox.b link set eth0 alias netlab:toolbox:a:eth0 up
tc -n toolbox.a qdisc replace dev eth0 root handle 4e: tbf rate 10mbit burst 15140 latency 50ms
tc -n toolbox.b qdisc replace dev eth0 root handle 4e: netem delay 5ms
ip -n toolbox.a link add eth1 type veth peer name eth1 netns toolbox.b
ip -n toolbox.a link set eth1 alias netlab:toolbox:b:eth1 up
ip -n toolbox.b link set eth1 alias netlab:toolbox:a:eth1 up
tc -n toolbox.a qdisc replace dev eth1 root handle 4e: netem rate 1gbit delay 20ms loss 0.5%

# --- links on top of other links
# node a
ip -n toolbox.a link add link eth0 name eth0.10 type vlan id 10
ip -n toolbox.a link set eth0.10 alias netlab:toolbox up
ip -n toolbox.a link add vx0 type vxlan id 42 local 10.0.0.1 dstport 4789 nolearning proxy l2miss l3miss
bridge -n toolbox.a fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2
ip -n toolbox.a link set vx0 alias netlab:toolbox up
# node b
ip -n toolbox.b link add link eth0 name eth0.10 type vlan id 10
ip -n toolbox.b link set eth0.10 alias netlab:toolbox up

# --- addresses
# node a
ip -n toolbox.a addr add 10.0.0.1/24 dev eth0
ip -n toolbox.a addr add 10.1.0.1/24 dev eth1
ip -n toolbox.a addr add 10.10.0.1/24 dev eth0.10
ip -n toolbox.a addr add 10.9.0.1/24 dev vx0
# node b
ip -n toolbox.b addr add 10.0.0.2/24 dev eth0
ip -n toolbox.b addr add 10.1.0.2/24 dev eth1
ip -n toolbox.b addr add 10.10.0.2/24 dev eth0.10

# --- hosts files: every node by name
# node a
mkdir -p /etc/netns/toolbox.a && cat >/etc/netns/toolbox.a/hosts <<'EOF'
# netlab: written by netlab up for lab toolbox; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 a
10.0.0.1 a-eth0
10.1.0.1 a-eth1
10.10.0.1 a-eth0.10
10.9.0.1 a-vx0
10.0.0.2 b
10.0.0.2 b-eth0
10.1.0.2 b-eth1
10.10.0.2 b-eth0.10
EOF
# node b
mkdir -p /etc/netns/toolbox.b && cat >/etc/netns/toolbox.b/hosts <<'EOF'
# netlab: written by netlab up for lab toolbox; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 a
10.0.0.1 a-eth0
10.1.0.1 a-eth1
10.10.0.1 a-eth0.10
10.9.0.1 a-vx0
10.0.0.2 b
10.0.0.2 b-eth0
10.1.0.2 b-eth1
10.10.0.2 b-eth0.10
EOF
