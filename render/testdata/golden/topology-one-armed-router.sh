#!/usr/bin/env bash
# Lab onearm, built by hand: the commands netlab up runs, as ip and nft.
# 802.1Q, the router on a stick: one cable, the trunk, carries two VLANs
# between a switch and a router, each frame tagged with its VLAN's id. The
# switch sw is built as Linux builds one, a bridge per VLAN: br10 joins h1's
# access port to trunk.10 and br20 joins h2's to trunk.20, the vlan devices
# that tag what they send out of the trunk with 10 or 20 and take in only
# frames of their id. The router r has one arm, eth0, and on it two vlan
# subinterfaces, eth0.10 and eth0.20, the gateways of the two subnets: h1 and
# h2 are in different VLANs and reach each other only through r, which routes
# between them. Needs a kernel with 802.1Q (CONFIG_VLAN_8021Q): on one
# without, plan and up refuse at the first kind: vlan.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node h1
ip netns add onearm.h1
ip netns exec onearm.h1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n onearm.h1 link set lo alias netlab:onearm:h1 up
# node h2
ip netns add onearm.h2
ip netns exec onearm.h2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n onearm.h2 link set lo alias netlab:onearm:h2 up
# node r
ip netns add onearm.r
ip netns exec onearm.r sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n onearm.r link set lo alias netlab:onearm:r up
# node sw
ip netns add onearm.sw
ip netns exec onearm.sw sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n onearm.sw link set lo alias netlab:onearm:sw up

# --- bridges
# node sw
ip -n onearm.sw link add br10 type bridge stp_state 0
ip -n onearm.sw link set br10 alias netlab:onearm up
ip -n onearm.sw link add br20 type bridge stp_state 0
ip -n onearm.sw link set br20 alias netlab:onearm up

# --- veth pairs and other links
# node h1
ip -n onearm.h1 link add eth0 type veth peer name p1 netns onearm.sw
ip -n onearm.h1 link set eth0 alias netlab:onearm:sw:p1 up
ip -n onearm.sw link set p1 alias netlab:onearm:h1:eth0 master br10 up
# node h2
ip -n onearm.h2 link add eth0 type veth peer name p2 netns onearm.sw
ip -n onearm.h2 link set eth0 alias netlab:onearm:sw:p2 up
ip -n onearm.sw link set p2 alias netlab:onearm:h2:eth0 master br20 up
# node r
ip -n onearm.r link add eth0 type veth peer name trunk netns onearm.sw
ip -n onearm.r link set eth0 alias netlab:onearm:sw:trunk up
ip -n onearm.sw link set dev trunk alias netlab:onearm:r:eth0 up

# --- links on top of other links
# node r
ip -n onearm.r link add link eth0 name eth0.10 type vlan id 10
ip -n onearm.r link set eth0.10 alias netlab:onearm up
ip -n onearm.r link add link eth0 name eth0.20 type vlan id 20
ip -n onearm.r link set eth0.20 alias netlab:onearm up
# node sw
ip -n onearm.sw link add link trunk name trunk.10 type vlan id 10
ip -n onearm.sw link set trunk.10 alias netlab:onearm master br10 up
ip -n onearm.sw link add link trunk name trunk.20 type vlan id 20
ip -n onearm.sw link set trunk.20 alias netlab:onearm master br20 up

# --- addresses
# node h1
ip -n onearm.h1 addr add 10.10.0.10/24 dev eth0
# node h2
ip -n onearm.h2 addr add 10.20.0.10/24 dev eth0
# node r
ip -n onearm.r addr add 10.10.0.1/24 dev eth0.10
ip -n onearm.r addr add 10.20.0.1/24 dev eth0.20

# --- routes
# node h1
ip -n onearm.h1 route replace default via 10.10.0.1 proto 78
# node h2
ip -n onearm.h2 route replace default via 10.20.0.1 proto 78

# --- sysctls
# node r
ip netns exec onearm.r sysctl -qw net.ipv4.ip_forward=1

# --- hosts files: every node by name
# node h1
mkdir -p /etc/netns/onearm.h1 && cat >/etc/netns/onearm.h1/hosts <<'EOF'
# netlab: written by netlab up for lab onearm; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.10.0.1 r
10.10.0.1 r-eth0.10
10.20.0.1 r-eth0.20
10.10.0.10 h1
10.10.0.10 h1-eth0
10.20.0.10 h2
10.20.0.10 h2-eth0
EOF
# node h2
mkdir -p /etc/netns/onearm.h2 && cat >/etc/netns/onearm.h2/hosts <<'EOF'
# netlab: written by netlab up for lab onearm; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.10.0.1 r
10.10.0.1 r-eth0.10
10.20.0.1 r-eth0.20
10.10.0.10 h1
10.10.0.10 h1-eth0
10.20.0.10 h2
10.20.0.10 h2-eth0
EOF
# node r
mkdir -p /etc/netns/onearm.r && cat >/etc/netns/onearm.r/hosts <<'EOF'
# netlab: written by netlab up for lab onearm; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.10.0.1 r
10.10.0.1 r-eth0.10
10.20.0.1 r-eth0.20
10.10.0.10 h1
10.10.0.10 h1-eth0
10.20.0.10 h2
10.20.0.10 h2-eth0
EOF
# node sw
mkdir -p /etc/netns/onearm.sw && cat >/etc/netns/onearm.sw/hosts <<'EOF'
# netlab: written by netlab up for lab onearm; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.10.0.1 r
10.10.0.1 r-eth0.10
10.20.0.1 r-eth0.20
10.10.0.10 h1
10.10.0.10 h1-eth0
10.20.0.10 h2
10.20.0.10 h2-eth0
EOF
