#!/usr/bin/env bash
# Lab vepa-hairpin, built by hand: the commands netlab up runs, as ip and nft.
# MACVLAN's vepa mode through a switch that sends frames back. A host has two
# uplinks to a switch node, and each carries two MACVLANs in vepa mode, which
# send every frame out on the wire, even to each other. The switch is a Linux
# bridge: its port p1 has hairpin on (reflective relay), so it sends a frame
# back out of the port it came in by, and v1 reaches v2 through the switch.
# Port p2 has hairpin off, the bridge's default, so n1 never reaches n2. All
# four reach the switch's own address.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node host
ip netns add vepa-hairpin.host
ip netns exec vepa-hairpin.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vepa-hairpin.host link set lo alias netlab:vepa-hairpin:host up
# node n1
ip netns add vepa-hairpin.n1
ip netns exec vepa-hairpin.n1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vepa-hairpin.n1 link set lo alias netlab:vepa-hairpin:n1 up
# node n2
ip netns add vepa-hairpin.n2
ip netns exec vepa-hairpin.n2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vepa-hairpin.n2 link set lo alias netlab:vepa-hairpin:n2 up
# node sw
ip netns add vepa-hairpin.sw
ip netns exec vepa-hairpin.sw sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vepa-hairpin.sw link set lo alias netlab:vepa-hairpin:sw up
# node v1
ip netns add vepa-hairpin.v1
ip netns exec vepa-hairpin.v1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vepa-hairpin.v1 link set lo alias netlab:vepa-hairpin:v1 up
# node v2
ip netns add vepa-hairpin.v2
ip netns exec vepa-hairpin.v2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n vepa-hairpin.v2 link set lo alias netlab:vepa-hairpin:v2 up

# --- bridges
# node sw
ip -n vepa-hairpin.sw link add br0 type bridge stp_state 0
ip -n vepa-hairpin.sw link set br0 alias netlab:vepa-hairpin up
ip -n vepa-hairpin.sw link add br1 type bridge stp_state 0
ip -n vepa-hairpin.sw link set br1 alias netlab:vepa-hairpin up

# --- veth pairs and other links
# node host
ip -n vepa-hairpin.host link add eth1 type veth peer name p1 netns vepa-hairpin.sw
ip -n vepa-hairpin.host link set eth1 alias netlab:vepa-hairpin:sw:p1 up
ip -n vepa-hairpin.sw link set p1 alias netlab:vepa-hairpin:host:eth1 master br0 up
ip -n vepa-hairpin.sw link set p1 type bridge_slave hairpin on
ip -n vepa-hairpin.host link add eth2 type veth peer name p2 netns vepa-hairpin.sw
ip -n vepa-hairpin.host link set eth2 alias netlab:vepa-hairpin:sw:p2 up
ip -n vepa-hairpin.sw link set p2 alias netlab:vepa-hairpin:host:eth2 master br1 up

# --- links on top of other links
# node n1
ip -n vepa-hairpin.host link add mv0 link eth2 netns vepa-hairpin.n1 type macvlan mode vepa
ip -n vepa-hairpin.n1 link set mv0 alias netlab:vepa-hairpin:host:eth2 up
# node n2
ip -n vepa-hairpin.host link add mv0 link eth2 netns vepa-hairpin.n2 type macvlan mode vepa
ip -n vepa-hairpin.n2 link set mv0 alias netlab:vepa-hairpin:host:eth2 up
# node v1
ip -n vepa-hairpin.host link add mv0 link eth1 netns vepa-hairpin.v1 type macvlan mode vepa
ip -n vepa-hairpin.v1 link set mv0 alias netlab:vepa-hairpin:host:eth1 up
# node v2
ip -n vepa-hairpin.host link add mv0 link eth1 netns vepa-hairpin.v2 type macvlan mode vepa
ip -n vepa-hairpin.v2 link set mv0 alias netlab:vepa-hairpin:host:eth1 up

# --- addresses
# node n1
ip -n vepa-hairpin.n1 addr add 10.1.6.11/24 dev mv0
# node n2
ip -n vepa-hairpin.n2 addr add 10.1.6.12/24 dev mv0
# node sw
ip -n vepa-hairpin.sw addr add 10.1.5.1/24 dev br0
ip -n vepa-hairpin.sw addr add 10.1.6.1/24 dev br1
# node v1
ip -n vepa-hairpin.v1 addr add 10.1.5.11/24 dev mv0
# node v2
ip -n vepa-hairpin.v2 addr add 10.1.5.12/24 dev mv0

# --- hosts files: every node by name
# node host
mkdir -p /etc/netns/vepa-hairpin.host && cat >/etc/netns/vepa-hairpin.host/hosts <<'EOF'
# netlab: written by netlab up for lab vepa-hairpin; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.5.1 sw
10.1.5.1 sw-br0
10.1.6.1 sw-br1
10.1.5.11 v1
10.1.5.11 v1-mv0
10.1.5.12 v2
10.1.5.12 v2-mv0
10.1.6.11 n1
10.1.6.11 n1-mv0
10.1.6.12 n2
10.1.6.12 n2-mv0
EOF
# node n1
mkdir -p /etc/netns/vepa-hairpin.n1 && cat >/etc/netns/vepa-hairpin.n1/hosts <<'EOF'
# netlab: written by netlab up for lab vepa-hairpin; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.5.1 sw
10.1.5.1 sw-br0
10.1.6.1 sw-br1
10.1.5.11 v1
10.1.5.11 v1-mv0
10.1.5.12 v2
10.1.5.12 v2-mv0
10.1.6.11 n1
10.1.6.11 n1-mv0
10.1.6.12 n2
10.1.6.12 n2-mv0
EOF
# node n2
mkdir -p /etc/netns/vepa-hairpin.n2 && cat >/etc/netns/vepa-hairpin.n2/hosts <<'EOF'
# netlab: written by netlab up for lab vepa-hairpin; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.5.1 sw
10.1.5.1 sw-br0
10.1.6.1 sw-br1
10.1.5.11 v1
10.1.5.11 v1-mv0
10.1.5.12 v2
10.1.5.12 v2-mv0
10.1.6.11 n1
10.1.6.11 n1-mv0
10.1.6.12 n2
10.1.6.12 n2-mv0
EOF
# node sw
mkdir -p /etc/netns/vepa-hairpin.sw && cat >/etc/netns/vepa-hairpin.sw/hosts <<'EOF'
# netlab: written by netlab up for lab vepa-hairpin; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.5.1 sw
10.1.5.1 sw-br0
10.1.6.1 sw-br1
10.1.5.11 v1
10.1.5.11 v1-mv0
10.1.5.12 v2
10.1.5.12 v2-mv0
10.1.6.11 n1
10.1.6.11 n1-mv0
10.1.6.12 n2
10.1.6.12 n2-mv0
EOF
# node v1
mkdir -p /etc/netns/vepa-hairpin.v1 && cat >/etc/netns/vepa-hairpin.v1/hosts <<'EOF'
# netlab: written by netlab up for lab vepa-hairpin; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.5.1 sw
10.1.5.1 sw-br0
10.1.6.1 sw-br1
10.1.5.11 v1
10.1.5.11 v1-mv0
10.1.5.12 v2
10.1.5.12 v2-mv0
10.1.6.11 n1
10.1.6.11 n1-mv0
10.1.6.12 n2
10.1.6.12 n2-mv0
EOF
# node v2
mkdir -p /etc/netns/vepa-hairpin.v2 && cat >/etc/netns/vepa-hairpin.v2/hosts <<'EOF'
# netlab: written by netlab up for lab vepa-hairpin; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.1.5.1 sw
10.1.5.1 sw-br0
10.1.6.1 sw-br1
10.1.5.11 v1
10.1.5.11 v1-mv0
10.1.5.12 v2
10.1.5.12 v2-mv0
10.1.6.11 n1
10.1.6.11 n1-mv0
10.1.6.12 n2
10.1.6.12 n2-mv0
EOF
