#!/usr/bin/env bash
# Lab bridge, built by hand: the commands netlab up runs, as ip and nft.
# A switch: node sw holds a Linux bridge, br0, with three ports, and each of
# three hosts is cabled to one port by a veth pair. The bridge forwards
# Ethernet frames by MAC address (it learns which port each MAC is behind), so
# h1, h2 and h3 share one subnet and reach each other with no router. The
# bridge itself needs no address: a switch is layer 2.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node h1
ip netns add bridge.h1
ip netns exec bridge.h1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n bridge.h1 link set lo alias netlab:bridge:h1 up
# node h2
ip netns add bridge.h2
ip netns exec bridge.h2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n bridge.h2 link set lo alias netlab:bridge:h2 up
# node h3
ip netns add bridge.h3
ip netns exec bridge.h3 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n bridge.h3 link set lo alias netlab:bridge:h3 up
# node sw
ip netns add bridge.sw
ip netns exec bridge.sw sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n bridge.sw link set lo alias netlab:bridge:sw up

# --- bridges
# node sw
ip -n bridge.sw link add br0 type bridge stp_state 0
ip -n bridge.sw link set br0 alias netlab:bridge up

# --- veth pairs and other links
# node h1
ip -n bridge.h1 link add eth0 type veth peer name p1 netns bridge.sw
ip -n bridge.h1 link set eth0 alias netlab:bridge:sw:p1 up
ip -n bridge.sw link set p1 alias netlab:bridge:h1:eth0 master br0 up
# node h2
ip -n bridge.h2 link add eth0 type veth peer name p2 netns bridge.sw
ip -n bridge.h2 link set eth0 alias netlab:bridge:sw:p2 up
ip -n bridge.sw link set p2 alias netlab:bridge:h2:eth0 master br0 up
# node h3
ip -n bridge.h3 link add eth0 type veth peer name p3 netns bridge.sw
ip -n bridge.h3 link set eth0 alias netlab:bridge:sw:p3 up
ip -n bridge.sw link set p3 alias netlab:bridge:h3:eth0 master br0 up

# --- addresses
# node h1
ip -n bridge.h1 addr add 10.0.1.1/24 dev eth0
# node h2
ip -n bridge.h2 addr add 10.0.1.2/24 dev eth0
# node h3
ip -n bridge.h3 addr add 10.0.1.3/24 dev eth0

# --- hosts files: every node by name
# node h1
mkdir -p /etc/netns/bridge.h1 && cat >/etc/netns/bridge.h1/hosts <<'EOF'
# netlab: written by netlab up for lab bridge; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 h1
10.0.1.1 h1-eth0
10.0.1.2 h2
10.0.1.2 h2-eth0
10.0.1.3 h3
10.0.1.3 h3-eth0
EOF
# node h2
mkdir -p /etc/netns/bridge.h2 && cat >/etc/netns/bridge.h2/hosts <<'EOF'
# netlab: written by netlab up for lab bridge; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 h1
10.0.1.1 h1-eth0
10.0.1.2 h2
10.0.1.2 h2-eth0
10.0.1.3 h3
10.0.1.3 h3-eth0
EOF
# node h3
mkdir -p /etc/netns/bridge.h3 && cat >/etc/netns/bridge.h3/hosts <<'EOF'
# netlab: written by netlab up for lab bridge; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 h1
10.0.1.1 h1-eth0
10.0.1.2 h2
10.0.1.2 h2-eth0
10.0.1.3 h3
10.0.1.3 h3-eth0
EOF
# node sw
mkdir -p /etc/netns/bridge.sw && cat >/etc/netns/bridge.sw/hosts <<'EOF'
# netlab: written by netlab up for lab bridge; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 h1
10.0.1.1 h1-eth0
10.0.1.2 h2
10.0.1.2 h2-eth0
10.0.1.3 h3
10.0.1.3 h3-eth0
EOF
