#!/usr/bin/env bash
# Lab port-publish, built by hand: the commands netlab up runs, as ip and nft.
# Port publishing, as docker run -p 80:80 does it. Container c1 sits on the
# host's bridge with a private address that nobody outside can route to, and
# runs a web server on its port 80. A DNAT rule on the host rewrites TCP
# packets that arrive on the uplink eth0 for port 80 to c1's 172.17.0.2:80, so
# a client on the outside reaches the web server through the host's public
# address, and the container sees the client's real address (DNAT leaves the
# source alone): the web server's log shows it, and so does the check through
# port 8080, published the same way, where the check's own responder listens.
# A masquerade rule takes c1's own outgoing traffic out with the host's
# address. The container's address itself stays unreachable from outside, and
# a port that is not published is refused by the host.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add port-publish.c1
ip netns exec port-publish.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n port-publish.c1 link set lo alias netlab:port-publish:c1 up
# node client
ip netns add port-publish.client
ip netns exec port-publish.client sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n port-publish.client link set lo alias netlab:port-publish:client up
# node host
ip netns add port-publish.host
ip netns exec port-publish.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n port-publish.host link set lo alias netlab:port-publish:host up

# --- bridges
# node host
ip -n port-publish.host link add br0 type bridge stp_state 0
ip -n port-publish.host link set br0 alias netlab:port-publish up

# --- veth pairs and other links
# node c1
ip -n port-publish.c1 link add eth0 type veth peer name veth1 netns port-publish.host
ip -n port-publish.c1 link set eth0 alias netlab:port-publish:host:veth1 up
ip -n port-publish.host link set veth1 alias netlab:port-publish:c1:eth0 master br0 up
# node client
ip -n port-publish.client link add eth0 type veth peer name eth0 netns port-publish.host
ip -n port-publish.client link set eth0 alias netlab:port-publish:host:eth0 up
ip -n port-publish.host link set eth0 alias netlab:port-publish:client:eth0 up

# --- addresses
# node c1
ip -n port-publish.c1 addr add 172.17.0.2/16 dev eth0
# node client
ip -n port-publish.client addr add 203.0.113.20/24 dev eth0
# node host
ip -n port-publish.host addr add 172.17.0.1/16 dev br0
ip -n port-publish.host addr add 203.0.113.10/24 dev eth0

# --- routes
# node c1
ip -n port-publish.c1 route replace default via 172.17.0.1 proto 78

# --- sysctls
# node host
ip netns exec port-publish.host sysctl -qw net.ipv4.ip_forward=1

# --- nftables: NAT and filter rules
# node host
ip netns exec port-publish.host nft -f - <<'EOF'
table inet netlab {
	chain nat_prerouting {
		type nat hook prerouting priority -100; policy accept;
		meta nfproto ipv4 iifname "eth0" tcp dport 80 counter dnat ip to 172.17.0.2:80 comment "netlab-ed1832ea150d"
		meta nfproto ipv4 iifname "eth0" tcp dport 8080 counter dnat ip to 172.17.0.2:8080 comment "netlab-37e92808e09a"
	}
	chain nat_output {
		type nat hook output priority -100; policy accept;
		meta nfproto ipv4 fib daddr type local tcp dport 80 counter dnat ip to 172.17.0.2:80 comment "netlab-4b31b265736e"
		meta nfproto ipv4 fib daddr type local tcp dport 8080 counter dnat ip to 172.17.0.2:8080 comment "netlab-14de240b73f5"
	}
	chain nat_postrouting {
		type nat hook postrouting priority 100; policy accept;
		ip saddr 172.17.0.0/16 oifname "eth0" counter masquerade comment "netlab-b95132958541"
	}
}
EOF

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/port-publish.c1 && cat >/etc/netns/port-publish.c1/hosts <<'EOF'
# netlab: written by netlab up for lab port-publish; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
203.0.113.10 host-eth0
172.17.0.2 c1
172.17.0.2 c1-eth0
203.0.113.20 client
203.0.113.20 client-eth0
EOF
# node client
mkdir -p /etc/netns/port-publish.client && cat >/etc/netns/port-publish.client/hosts <<'EOF'
# netlab: written by netlab up for lab port-publish; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
203.0.113.10 host-eth0
172.17.0.2 c1
172.17.0.2 c1-eth0
203.0.113.20 client
203.0.113.20 client-eth0
EOF
# node host
mkdir -p /etc/netns/port-publish.host && cat >/etc/netns/port-publish.host/hosts <<'EOF'
# netlab: written by netlab up for lab port-publish; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
203.0.113.10 host-eth0
172.17.0.2 c1
172.17.0.2 c1-eth0
203.0.113.20 client
203.0.113.20 client-eth0
EOF

# --- processes
# node c1
mkdir -p -m 0700 /run/netlab
ip netns exec port-publish.c1 setsid env -i -C / PATH="$PATH" NETLAB_LAB=port-publish NETLAB_NODE=c1 PYTHONUNBUFFERED=1 NETLAB_PROCESS=port-publish:c1:web:776497d1c0b98ef4 /bin/sh -c 'exec python3 -m http.server 80 --bind 172.17.0.2 --directory /sys/class/net' >>/run/netlab/port-publish.c1.web.log 2>&1 </dev/null &
