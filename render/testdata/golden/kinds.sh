#!/usr/bin/env bash
# Lab kinds, built by hand: the commands netlab up runs, as ip and nft.
# Every device kind - VXLAN over a routed underlay, MACVLANs, tun and tap, a
# triangle.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node a
ip netns add kinds.a
ip netns exec kinds.a sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n kinds.a link set lo alias netlab:kinds:a up
# node b
ip netns add kinds.b
ip netns exec kinds.b sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n kinds.b link set lo alias netlab:kinds:b up
# node guest
ip netns add kinds.guest
ip netns exec kinds.guest sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n kinds.guest link set lo alias netlab:kinds:guest up
# node vtep1
ip netns add kinds.vtep1
ip netns exec kinds.vtep1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n kinds.vtep1 link set lo alias netlab:kinds:vtep1 up
# node vtep2
ip netns add kinds.vtep2
ip netns exec kinds.vtep2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n kinds.vtep2 link set lo alias netlab:kinds:vtep2 up

# --- bridges
# node vtep1
ip -n kinds.vtep1 link add br0 type bridge stp_state 0
ip -n kinds.vtep1 link set br0 alias netlab:kinds up

# --- veth pairs and other links
# node a
ip -n kinds.a link add eth0 type veth peer name eth1 netns kinds.vtep2
ip -n kinds.a link set eth0 alias netlab:kinds:vtep2:eth1 up
ip -n kinds.vtep2 link set eth1 alias netlab:kinds:a:eth0 up
ip -n kinds.a link add eth1 type veth peer name eth1 netns kinds.b
ip -n kinds.a link set eth1 alias netlab:kinds:b:eth1 up
ip -n kinds.b link set eth1 alias netlab:kinds:a:eth1 up
# node b
ip -n kinds.b link add eth0 type veth peer name eth2 netns kinds.vtep2
ip -n kinds.b link set eth0 alias netlab:kinds:vtep2:eth2 up
ip -n kinds.vtep2 link set eth2 alias netlab:kinds:b:eth0 up
# node guest
ip -n kinds.guest tuntap add dev tap0 mode tap user 1000
ip -n kinds.guest link set tap0 alias netlab:kinds
ip -n kinds.guest tuntap add dev tun0 mode tun
ip -n kinds.guest link set tun0 alias netlab:kinds up
# node vtep1
ip -n kinds.vtep1 link add eth0 type veth peer name eth0 netns kinds.vtep2
ip -n kinds.vtep1 link set eth0 alias netlab:kinds:vtep2:eth0 up
ip -n kinds.vtep2 link set eth0 alias netlab:kinds:vtep1:eth0 up

# --- links on top of other links
# node guest
ip -n kinds.vtep1 link add mv1 link eth0 netns kinds.guest type macvlan mode bridge
ip -n kinds.guest link set mv1 alias netlab:kinds:vtep1:eth0 up
# node vtep1
ip -n kinds.vtep1 link add mv0 link eth0 type macvlan mode private
ip -n kinds.vtep1 link set mv0 alias netlab:kinds:vtep1:eth0 up
ip -n kinds.vtep1 link add vx0 type vxlan id 42 remote 203.0.113.2 local 203.0.113.1 dev eth0 dstport 4789
ip -n kinds.vtep1 link set vx0 alias netlab:kinds mtu 1450 master br0 up
# node vtep2
ip -n kinds.vtep2 link add vx0 type vxlan id 42 remote 203.0.113.1 dev eth0 dstport 4789 nolearning
ip -n kinds.vtep2 link set vx0 alias netlab:kinds mtu 1450 up

# --- addresses
# node a
ip -n kinds.a addr add 192.0.2.2/30 dev eth0
ip -n kinds.a addr add 192.0.2.9/30 dev eth1
# node b
ip -n kinds.b addr add 192.0.2.10/30 dev eth1
ip -n kinds.b addr add 192.0.2.6/30 dev eth0
# node guest
ip -n kinds.guest addr add 203.0.113.50/24 dev mv1
# node vtep1
ip -n kinds.vtep1 addr add 10.42.0.1/24 dev br0
ip -n kinds.vtep1 addr add 203.0.113.1/24 dev eth0
# node vtep2
ip -n kinds.vtep2 addr add 10.42.0.2/24 dev vx0
ip -n kinds.vtep2 addr add 192.0.2.1/30 dev eth1
ip -n kinds.vtep2 addr add 192.0.2.5/30 dev eth2
ip -n kinds.vtep2 addr add 203.0.113.2/24 dev eth0

# --- nftables: NAT and filter rules
# node vtep2
ip netns exec kinds.vtep2 nft -f - <<'EOF'
table inet netlab {
	chain nat_prerouting {
		type nat hook prerouting priority -100; policy accept;
		meta nfproto ipv4 tcp dport 8080 counter dnat ip to 192.0.2.2 comment "netlab-cf617a816432"
	}
	chain filter_forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related counter accept comment "netlab-c77fde03d68d"
	}
	chain nat_output {
		type nat hook output priority -100; policy accept;
		meta nfproto ipv4 tcp dport 8080 counter dnat ip to 192.0.2.2 comment "netlab-cf617a816432"
	}
}
EOF

# --- hosts files: every node by name
# node a
mkdir -p /etc/netns/kinds.a && cat >/etc/netns/kinds.a/hosts <<'EOF'
# netlab: written by netlab up for lab kinds; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
203.0.113.1 vtep1
203.0.113.1 vtep1-eth0
10.42.0.1 vtep1-br0
203.0.113.2 vtep2
203.0.113.2 vtep2-eth0
10.42.0.2 vtep2-vx0
192.0.2.1 vtep2-eth1
192.0.2.5 vtep2-eth2
203.0.113.50 guest
203.0.113.50 guest-mv1
192.0.2.2 a
192.0.2.2 a-eth0
192.0.2.9 a-eth1
192.0.2.6 b
192.0.2.6 b-eth0
192.0.2.10 b-eth1
EOF
# node b
mkdir -p /etc/netns/kinds.b && cat >/etc/netns/kinds.b/hosts <<'EOF'
# netlab: written by netlab up for lab kinds; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
203.0.113.1 vtep1
203.0.113.1 vtep1-eth0
10.42.0.1 vtep1-br0
203.0.113.2 vtep2
203.0.113.2 vtep2-eth0
10.42.0.2 vtep2-vx0
192.0.2.1 vtep2-eth1
192.0.2.5 vtep2-eth2
203.0.113.50 guest
203.0.113.50 guest-mv1
192.0.2.2 a
192.0.2.2 a-eth0
192.0.2.9 a-eth1
192.0.2.6 b
192.0.2.6 b-eth0
192.0.2.10 b-eth1
EOF
# node guest
mkdir -p /etc/netns/kinds.guest && cat >/etc/netns/kinds.guest/hosts <<'EOF'
# netlab: written by netlab up for lab kinds; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
203.0.113.1 vtep1
203.0.113.1 vtep1-eth0
10.42.0.1 vtep1-br0
203.0.113.2 vtep2
203.0.113.2 vtep2-eth0
10.42.0.2 vtep2-vx0
192.0.2.1 vtep2-eth1
192.0.2.5 vtep2-eth2
203.0.113.50 guest
203.0.113.50 guest-mv1
192.0.2.2 a
192.0.2.2 a-eth0
192.0.2.9 a-eth1
192.0.2.6 b
192.0.2.6 b-eth0
192.0.2.10 b-eth1
EOF
# node vtep1
mkdir -p /etc/netns/kinds.vtep1 && cat >/etc/netns/kinds.vtep1/hosts <<'EOF'
# netlab: written by netlab up for lab kinds; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
203.0.113.1 vtep1
203.0.113.1 vtep1-eth0
10.42.0.1 vtep1-br0
203.0.113.2 vtep2
203.0.113.2 vtep2-eth0
10.42.0.2 vtep2-vx0
192.0.2.1 vtep2-eth1
192.0.2.5 vtep2-eth2
203.0.113.50 guest
203.0.113.50 guest-mv1
192.0.2.2 a
192.0.2.2 a-eth0
192.0.2.9 a-eth1
192.0.2.6 b
192.0.2.6 b-eth0
192.0.2.10 b-eth1
EOF
# node vtep2
mkdir -p /etc/netns/kinds.vtep2 && cat >/etc/netns/kinds.vtep2/hosts <<'EOF'
# netlab: written by netlab up for lab kinds; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
203.0.113.1 vtep1
203.0.113.1 vtep1-eth0
10.42.0.1 vtep1-br0
203.0.113.2 vtep2
203.0.113.2 vtep2-eth0
10.42.0.2 vtep2-vx0
192.0.2.1 vtep2-eth1
192.0.2.5 vtep2-eth2
203.0.113.50 guest
203.0.113.50 guest-mv1
192.0.2.2 a
192.0.2.2 a-eth0
192.0.2.9 a-eth1
192.0.2.6 b
192.0.2.6 b-eth0
192.0.2.10 b-eth1
EOF
