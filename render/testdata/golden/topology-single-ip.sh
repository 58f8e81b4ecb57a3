#!/usr/bin/env bash
# Lab single-ip, built by hand: the commands netlab up runs, as ip and nft.
# Three containers share the host's one address through a bridge and SNAT.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add single-ip.c1
ip netns exec single-ip.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n single-ip.c1 link set lo alias netlab:single-ip:c1 up
# node c2
ip netns add single-ip.c2
ip netns exec single-ip.c2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n single-ip.c2 link set lo alias netlab:single-ip:c2 up
# node c3
ip netns add single-ip.c3
ip netns exec single-ip.c3 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n single-ip.c3 link set lo alias netlab:single-ip:c3 up
# node host
ip netns add single-ip.host
ip netns exec single-ip.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n single-ip.host link set lo alias netlab:single-ip:host up
# node server
ip netns add single-ip.server
ip netns exec single-ip.server sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n single-ip.server link set lo alias netlab:single-ip:server up

# --- bridges
# node host
ip -n single-ip.host link add br0 type bridge stp_state 0
ip -n single-ip.host link set br0 alias netlab:single-ip up

# --- veth pairs and other links
# node c1
ip -n single-ip.c1 link add veth0 type veth peer name veth1 netns single-ip.host
ip -n single-ip.c1 link set veth0 alias netlab:single-ip:host:veth1 up
ip -n single-ip.host link set veth1 alias netlab:single-ip:c1:veth0 master br0 up
# node c2
ip -n single-ip.c2 link add veth0 type veth peer name veth2 netns single-ip.host
ip -n single-ip.c2 link set veth0 alias netlab:single-ip:host:veth2 up
ip -n single-ip.host link set veth2 alias netlab:single-ip:c2:veth0 master br0 up
# node c3
ip -n single-ip.c3 link add veth0 type veth peer name veth3 netns single-ip.host
ip -n single-ip.c3 link set veth0 alias netlab:single-ip:host:veth3 up
ip -n single-ip.host link set veth3 alias netlab:single-ip:c3:veth0 master br0 up
# node host
ip -n single-ip.host link add eth0 type veth peer name eth0 netns single-ip.server
ip -n single-ip.host link set eth0 alias netlab:single-ip:server:eth0 up
ip -n single-ip.server link set eth0 alias netlab:single-ip:host:eth0 up

# --- addresses
# node c1
ip -n single-ip.c1 addr add 192.168.31.10/24 dev veth0
# node c2
ip -n single-ip.c2 addr add 192.168.31.11/24 dev veth0
# node c3
ip -n single-ip.c3 addr add 192.168.31.12/24 dev veth0
# node host
ip -n single-ip.host addr add 192.168.31.1/24 dev br0
ip -n single-ip.host addr add 198.51.100.86/24 dev eth0
# node server
ip -n single-ip.server addr add 198.51.100.183/24 dev eth0

# --- routes
# node c1
ip -n single-ip.c1 route replace default via 192.168.31.1 proto 78
# node c2
ip -n single-ip.c2 route replace default via 192.168.31.1 proto 78
# node c3
ip -n single-ip.c3 route replace default via 192.168.31.1 proto 78

# --- sysctls
# node host
ip netns exec single-ip.host sysctl -qw net.ipv4.ip_forward=1

# --- nftables: NAT and filter rules
# node host
ip netns exec single-ip.host nft -f - <<'EOF'
table inet netlab {
	chain nat_postrouting {
		type nat hook postrouting priority 100; policy accept;
		ip saddr 192.168.31.0/24 oifname "eth0" counter masquerade comment "netlab-9ddbb803fc46"
	}
}
EOF

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/single-ip.c1 && cat >/etc/netns/single-ip.c1/hosts <<'EOF'
# netlab: written by netlab up for lab single-ip; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.31.1 host
192.168.31.1 host-br0
198.51.100.86 host-eth0
192.168.31.10 c1
192.168.31.10 c1-veth0
192.168.31.11 c2
192.168.31.11 c2-veth0
192.168.31.12 c3
192.168.31.12 c3-veth0
198.51.100.183 server
198.51.100.183 server-eth0
EOF
# node c2
mkdir -p /etc/netns/single-ip.c2 && cat >/etc/netns/single-ip.c2/hosts <<'EOF'
# netlab: written by netlab up for lab single-ip; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.31.1 host
192.168.31.1 host-br0
198.51.100.86 host-eth0
192.168.31.10 c1
192.168.31.10 c1-veth0
192.168.31.11 c2
192.168.31.11 c2-veth0
192.168.31.12 c3
192.168.31.12 c3-veth0
198.51.100.183 server
198.51.100.183 server-eth0
EOF
# node c3
mkdir -p /etc/netns/single-ip.c3 && cat >/etc/netns/single-ip.c3/hosts <<'EOF'
# netlab: written by netlab up for lab single-ip; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.31.1 host
192.168.31.1 host-br0
198.51.100.86 host-eth0
192.168.31.10 c1
192.168.31.10 c1-veth0
192.168.31.11 c2
192.168.31.11 c2-veth0
192.168.31.12 c3
192.168.31.12 c3-veth0
198.51.100.183 server
198.51.100.183 server-eth0
EOF
# node host
mkdir -p /etc/netns/single-ip.host && cat >/etc/netns/single-ip.host/hosts <<'EOF'
# netlab: written by netlab up for lab single-ip; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.31.1 host
192.168.31.1 host-br0
198.51.100.86 host-eth0
192.168.31.10 c1
192.168.31.10 c1-veth0
192.168.31.11 c2
192.168.31.11 c2-veth0
192.168.31.12 c3
192.168.31.12 c3-veth0
198.51.100.183 server
198.51.100.183 server-eth0
EOF
# node server
mkdir -p /etc/netns/single-ip.server && cat >/etc/netns/single-ip.server/hosts <<'EOF'
# netlab: written by netlab up for lab single-ip; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.31.1 host
192.168.31.1 host-br0
198.51.100.86 host-eth0
192.168.31.10 c1
192.168.31.10 c1-veth0
192.168.31.11 c2
192.168.31.11 c2-veth0
192.168.31.12 c3
192.168.31.12 c3-veth0
198.51.100.183 server
198.51.100.183 server-eth0
EOF
