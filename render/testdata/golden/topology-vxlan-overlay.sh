#!/usr/bin/env bash
# Lab vxlan, built by hand: the commands netlab up runs, as ip and nft.
# Two hosts joined by an underlay link each have a bridge with containers on
# it; a VXLAN tunnel (VNI 42) on each host stitches the two bridges into one
# layer-2 segment, so containers on different hosts share a subnet. host2 also
# floods to a third, absent VTEP through a static fdb entry: that is head-end
# replication, one unicast copy per remote.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add vxlan.c1
ip netns exec vxlan.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vxlan.c1 link set lo alias netlab:vxlan:c1 up
# node c2
ip netns add vxlan.c2
ip netns exec vxlan.c2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vxlan.c2 link set lo alias netlab:vxlan:c2 up
# node c3
ip netns add vxlan.c3
ip netns exec vxlan.c3 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vxlan.c3 link set lo alias netlab:vxlan:c3 up
# node host1
ip netns add vxlan.host1
ip netns exec vxlan.host1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vxlan.host1 link set lo alias netlab:vxlan:host1 up
# node host2
ip netns add vxlan.host2
ip netns exec vxlan.host2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vxlan.host2 link set lo alias netlab:vxlan:host2 up

# --- bridges
# node host1
ip -n vxlan.host1 link add br0 type bridge stp_state 0
ip -n vxlan.host1 link set br0 alias netlab:vxlan up
# node host2
ip -n vxlan.host2 link add br0 type bridge stp_state 0
ip -n vxlan.host2 link set br0 alias netlab:vxlan up

# --- veth pairs and other links
# node c1
ip -n vxlan.c1 link add eth0 type veth peer name veth1 netns vxlan.host1
ip -n vxlan.c1 link set eth0 alias netlab:vxlan:host1:veth1 up
ip -n vxlan.host1 link set veth1 alias netlab:vxlan:c1:eth0 master br0 up
# node c2
ip -n vxlan.c2 link add eth0 type veth peer name veth2 netns vxlan.host1
ip -n vxlan.c2 link set eth0 alias netlab:vxlan:host1:veth2 up
ip -n vxlan.host1 link set veth2 alias netlab:vxlan:c2:eth0 master br0 up
# node c3
ip -n vxlan.c3 link add eth0 type veth peer name veth1 netns vxlan.host2
ip -n vxlan.c3 link set eth0 alias netlab:vxlan:host2:veth1 up
ip -n vxlan.host2 link set veth1 alias netlab:vxlan:c3:eth0 master br0 up
# node host1
ip -n vxlan.host1 link add eth0 type veth peer name eth0 netns vxlan.host2
ip -n vxlan.host1 link set eth0 alias netlab:vxlan:host2:eth0 up
ip -n vxlan.host2 link set eth0 alias netlab:vxlan:host1:eth0 up

# --- links on top of other links
# node host1
ip -n vxlan.host1 link add vx0 type vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dev eth0 dstport 4789
ip -n vxlan.host1 link set vx0 alias netlab:vxlan mtu 1450 master br0 up
# node host2
ip -n vxlan.host2 link add vx0 type vxlan id 42 remote 192.0.2.1 local 192.0.2.2 dev eth0 dstport 4789
bridge -n vxlan.host2 fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.3
ip -n vxlan.host2 link set vx0 alias netlab:vxlan mtu 1450 master br0 up

# --- addresses
# node c1
ip -n vxlan.c1 addr add 10.42.0.11/24 dev eth0
# node c2
ip -n vxlan.c2 addr add 10.42.0.12/24 dev eth0
# node c3
ip -n vxlan.c3 addr add 10.42.0.13/24 dev eth0
# node host1
ip -n vxlan.host1 addr add 192.0.2.1/24 dev eth0
# node host2
ip -n vxlan.host2 addr add 192.0.2.2/24 dev eth0

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/vxlan.c1 && cat >/etc/netns/vxlan.c1/hosts <<'EOF'
# netlab: written by netlab up for lab vxlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.0.2.1 host1
192.0.2.1 host1-eth0
192.0.2.2 host2
192.0.2.2 host2-eth0
10.42.0.11 c1
10.42.0.11 c1-eth0
10.42.0.12 c2
10.42.0.12 c2-eth0
10.42.0.13 c3
10.42.0.13 c3-eth0
EOF
# node c2
mkdir -p /etc/netns/vxlan.c2 && cat >/etc/netns/vxlan.c2/hosts <<'EOF'
# netlab: written by netlab up for lab vxlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.0.2.1 host1
192.0.2.1 host1-eth0
192.0.2.2 host2
192.0.2.2 host2-eth0
10.42.0.11 c1
10.42.0.11 c1-eth0
10.42.0.12 c2
10.42.0.12 c2-eth0
10.42.0.13 c3
10.42.0.13 c3-eth0
EOF
# node c3
mkdir -p /etc/netns/vxlan.c3 && cat >/etc/netns/vxlan.c3/hosts <<'EOF'
# netlab: written by netlab up for lab vxlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.0.2.1 host1
192.0.2.1 host1-eth0
192.0.2.2 host2
192.0.2.2 host2-eth0
10.42.0.11 c1
10.42.0.11 c1-eth0
10.42.0.12 c2
10.42.0.12 c2-eth0
10.42.0.13 c3
10.42.0.13 c3-eth0
EOF
# node host1
mkdir -p /etc/netns/vxlan.host1 && cat >/etc/netns/vxlan.host1/hosts <<'EOF'
# netlab: written by netlab up for lab vxlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.0.2.1 host1
192.0.2.1 host1-eth0
192.0.2.2 host2
192.0.2.2 host2-eth0
10.42.0.11 c1
10.42.0.11 c1-eth0
10.42.0.12 c2
10.42.0.12 c2-eth0
10.42.0.13 c3
10.42.0.13 c3-eth0
EOF
# node host2
mkdir -p /etc/netns/vxlan.host2 && cat >/etc/netns/vxlan.host2/hosts <<'EOF'
# netlab: written by netlab up for lab vxlan; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.0.2.1 host1
192.0.2.1 host1-eth0
192.0.2.2 host2
192.0.2.2 host2-eth0
10.42.0.11 c1
10.42.0.11 c1-eth0
10.42.0.12 c2
10.42.0.12 c2-eth0
10.42.0.13 c3
10.42.0.13 c3-eth0
EOF
