#!/usr/bin/env bash
# Lab tuntap, built by hand: the commands netlab up runs, as ip and nft.
# TUN and TAP devices, the way VPNs (OpenVPN, WireGuard-go) and virtual
# machines (QEMU) get packets in and out of the kernel. Node vpn has a
# persistent tun0 (layer 3: a program reads and writes IP packets) and a
# persistent tap0 (layer 2: Ethernet frames), both owned by user and group
# 1000 so that an unprivileged program may attach to them. Until a program
# opens them through /dev/net/tun they have no carrier and carry nothing, so
# the check through tun0 fails; the veth to node peer, a kernel device with
# the kernel at both ends, carries traffic at once.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node peer
ip netns add tuntap.peer
ip netns exec tuntap.peer sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n tuntap.peer link set lo alias netlab:tuntap:peer up
# node vpn
ip netns add tuntap.vpn
ip netns exec tuntap.vpn sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n tuntap.vpn link set lo alias netlab:tuntap:vpn up

# --- veth pairs and other links
# node peer
ip -n tuntap.peer link add eth0 type veth peer name eth0 netns tuntap.vpn
ip -n tuntap.peer link set eth0 alias netlab:tuntap:vpn:eth0 up
ip -n tuntap.vpn link set eth0 alias netlab:tuntap:peer:eth0 up
# node vpn
ip -n tuntap.vpn tuntap add dev tap0 mode tap user 1000 group 1000
ip -n tuntap.vpn link set tap0 alias netlab:tuntap up
ip -n tuntap.vpn tuntap add dev tun0 mode tun user 1000 group 1000
ip -n tuntap.vpn link set tun0 alias netlab:tuntap up

# --- addresses
# node peer
ip -n tuntap.peer addr add 192.168.60.2/24 dev eth0
# node vpn
ip -n tuntap.vpn addr add 10.8.0.1/24 dev tun0
ip -n tuntap.vpn addr add 192.168.60.1/24 dev eth0

# --- hosts files: every node by name
# node peer
mkdir -p /etc/netns/tuntap.peer && cat >/etc/netns/tuntap.peer/hosts <<'EOF'
# netlab: written by netlab up for lab tuntap; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.8.0.1 vpn
10.8.0.1 vpn-tun0
192.168.60.1 vpn-eth0
192.168.60.2 peer
192.168.60.2 peer-eth0
EOF
# node vpn
mkdir -p /etc/netns/tuntap.vpn && cat >/etc/netns/tuntap.vpn/hosts <<'EOF'
# netlab: written by netlab up for lab tuntap; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.8.0.1 vpn
10.8.0.1 vpn-tun0
192.168.60.1 vpn-eth0
192.168.60.2 peer
192.168.60.2 peer-eth0
EOF
