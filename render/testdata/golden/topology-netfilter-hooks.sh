#!/usr/bin/env bash
# Lab nf-hooks, built by hand: the commands netlab up runs, as ip and nft.
# The five netfilter hooks, each with counting rules, on a firewall fw between
# a web server inside and a client outside. A packet that fw forwards takes
# prerouting, forward, postrouting; a packet for fw itself takes prerouting,
# input; a packet fw sends takes output, postrouting. The DNAT rule publishes
# web's port 80 on fw's outside address (at prerouting, and at output for fw's
# own connections), masquerade hides web's address on the way out
# (postrouting), and a redirect sends every DNS query from inside to fw
# itself, whatever its destination (a transparent proxy). Run the checks and
# watch which counters move in netlab status.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node client
ip netns add nf-hooks.client
ip netns exec nf-hooks.client sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n nf-hooks.client link set lo alias netlab:nf-hooks:client up
# node fw
ip netns add nf-hooks.fw
ip netns exec nf-hooks.fw sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n nf-hooks.fw link set lo alias netlab:nf-hooks:fw up
# node web
ip netns add nf-hooks.web
ip netns exec nf-hooks.web sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n nf-hooks.web link set lo alias netlab:nf-hooks:web up

# --- veth pairs and other links
# node client
ip -n nf-hooks.client link add eth0 type veth peer name eth1 netns nf-hooks.fw
ip -n nf-hooks.client link set eth0 alias netlab:nf-hooks:fw:eth1 up
ip -n nf-hooks.fw link set eth1 alias netlab:nf-hooks:client:eth0 up
# node fw
ip -n nf-hooks.fw link add eth0 type veth peer name eth0 netns nf-hooks.web
ip -n nf-hooks.fw link set eth0 alias netlab:nf-hooks:web:eth0 up
ip -n nf-hooks.web link set eth0 alias netlab:nf-hooks:fw:eth0 up

# --- addresses
# node client
ip -n nf-hooks.client addr add 198.51.100.20/24 dev eth0
# node fw
ip -n nf-hooks.fw addr add 192.168.50.1/24 dev eth0
ip -n nf-hooks.fw addr add 198.51.100.1/24 dev eth1
# node web
ip -n nf-hooks.web addr add 192.168.50.80/24 dev eth0

# --- routes
# node web
ip -n nf-hooks.web route replace default via 192.168.50.1 proto 78

# --- sysctls
# node fw
ip netns exec nf-hooks.fw sysctl -qw net.ipv4.ip_forward=1

# --- nftables: NAT and filter rules
# node fw
ip netns exec nf-hooks.fw nft -f - <<'EOF'
table inet netlab {
	chain nat_prerouting {
		type nat hook prerouting priority -100; policy accept;
		meta nfproto ipv4 iifname "eth1" tcp dport 80 counter dnat ip to 192.168.50.80:80 comment "netlab-f55d377bd393"
		iifname "eth0" udp dport 53 counter redirect to :53 comment "netlab-1975ae95eeee"
	}
	chain filter_input {
		type filter hook input priority 0; policy accept;
		iifname "eth1" meta l4proto { icmp, ipv6-icmp } counter comment "netlab-e389ac32befd"
		iifname "eth0" udp dport 53 counter log prefix "nf-hooks dns: " comment "netlab-33d2962e32b8"
	}
	chain filter_forward {
		type filter hook forward priority 0; policy accept;
		iifname "eth1" oifname "eth0" tcp dport 80 counter comment "netlab-441d51a6902e"
		iifname "eth0" oifname "eth1" counter comment "netlab-842052f3aacd"
	}
	chain nat_output {
		type nat hook output priority -100; policy accept;
		meta nfproto ipv4 fib daddr type local tcp dport 80 counter dnat ip to 192.168.50.80:80 comment "netlab-e0dd5435459b"
		fib daddr type local udp dport 53 counter redirect to :53 comment "netlab-11b912d7715e"
	}
	chain filter_output {
		type filter hook output priority 0; policy accept;
		tcp dport 80 counter comment "netlab-217b23461a29"
	}
	chain nat_postrouting {
		type nat hook postrouting priority 100; policy accept;
		ip saddr 192.168.50.0/24 oifname "eth1" counter masquerade comment "netlab-d51746f9266e"
	}
}
EOF

# --- hosts files: every node by name
# node client
mkdir -p /etc/netns/nf-hooks.client && cat >/etc/netns/nf-hooks.client/hosts <<'EOF'
# netlab: written by netlab up for lab nf-hooks; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.50.1 fw
192.168.50.1 fw-eth0
198.51.100.1 fw-eth1
192.168.50.80 web
192.168.50.80 web-eth0
198.51.100.20 client
198.51.100.20 client-eth0
EOF
# node fw
mkdir -p /etc/netns/nf-hooks.fw && cat >/etc/netns/nf-hooks.fw/hosts <<'EOF'
# netlab: written by netlab up for lab nf-hooks; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.50.1 fw
192.168.50.1 fw-eth0
198.51.100.1 fw-eth1
192.168.50.80 web
192.168.50.80 web-eth0
198.51.100.20 client
198.51.100.20 client-eth0
EOF
# node web
mkdir -p /etc/netns/nf-hooks.web && cat >/etc/netns/nf-hooks.web/hosts <<'EOF'
# netlab: written by netlab up for lab nf-hooks; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
192.168.50.1 fw
192.168.50.1 fw-eth0
198.51.100.1 fw-eth1
192.168.50.80 web
192.168.50.80 web-eth0
198.51.100.20 client
198.51.100.20 client-eth0
EOF
