#!/usr/bin/env bash
# Lab k8s-service, built by hand: the commands netlab up runs, as ip and nft.
# A Kubernetes Service, as kube-proxy's iptables mode builds it. The ClusterIP
# 10.96.0.10 is virtual: no interface holds it. The node routes for the client
# and the two pods (backend1 and backend2, each listening on 8080), and its
# DNAT rule sends TCP connections to 10.96.0.10:80 to one of the pods'
# 10.244.1.10:8080 and 10.244.2.10:8080, chosen at random for each new
# connection (the first rule takes one in two, the second the rest); conntrack
# keeps the rest of a connection on the pod it got. Each pod is reachable on
# its own address too. Nothing answers the ClusterIP on any other port, and
# nothing answers ping to it.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node backend1
ip netns add k8s-service.backend1
ip netns exec k8s-service.backend1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n k8s-service.backend1 link set lo alias netlab:k8s-service:backend1 up
# node backend2
ip netns add k8s-service.backend2
ip netns exec k8s-service.backend2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n k8s-service.backend2 link set lo alias netlab:k8s-service:backend2 up
# node client
ip netns add k8s-service.client
ip netns exec k8s-service.client sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n k8s-service.client link set lo alias netlab:k8s-service:client up
# node node
ip netns add k8s-service.node
ip netns exec k8s-service.node sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n k8s-service.node link set lo alias netlab:k8s-service:node up

# --- veth pairs and other links
# node backend1
ip -n k8s-service.backend1 link add eth0 type veth peer name veth1 netns k8s-service.node
ip -n k8s-service.backend1 link set eth0 alias netlab:k8s-service:node:veth1 up
ip -n k8s-service.node link set veth1 alias netlab:k8s-service:backend1:eth0 up
# node backend2
ip -n k8s-service.backend2 link add eth0 type veth peer name veth2 netns k8s-service.node
ip -n k8s-service.backend2 link set eth0 alias netlab:k8s-service:node:veth2 up
ip -n k8s-service.node link set veth2 alias netlab:k8s-service:backend2:eth0 up
# node client
ip -n k8s-service.client link add eth0 type veth peer name eth0 netns k8s-service.node
ip -n k8s-service.client link set eth0 alias netlab:k8s-service:node:eth0 up
ip -n k8s-service.node link set eth0 alias netlab:k8s-service:client:eth0 up

# --- addresses
# node backend1
ip -n k8s-service.backend1 addr add 10.244.1.10/24 dev eth0
# node backend2
ip -n k8s-service.backend2 addr add 10.244.2.10/24 dev eth0
# node client
ip -n k8s-service.client addr add 10.0.0.2/24 dev eth0
# node node
ip -n k8s-service.node addr add 10.0.0.1/24 dev eth0
ip -n k8s-service.node addr add 10.244.1.1/24 dev veth1
ip -n k8s-service.node addr add 10.244.2.1/24 dev veth2

# --- routes
# node backend1
ip -n k8s-service.backend1 route replace default via 10.244.1.1 proto 78
# node backend2
ip -n k8s-service.backend2 route replace default via 10.244.2.1 proto 78
# node client
ip -n k8s-service.client route replace default via 10.0.0.1 proto 78

# --- sysctls
# node node
ip netns exec k8s-service.node sysctl -qw net.ipv4.ip_forward=1

# --- nftables: NAT and filter rules
# node node
ip netns exec k8s-service.node nft -f - <<'EOF'
table inet netlab {
	chain nat_prerouting {
		type nat hook prerouting priority -100; policy accept;
		ip daddr 10.96.0.10 tcp dport 80 numgen random mod 2 0 counter dnat ip to 10.244.1.10:8080 comment "netlab-f8bc3a522df9"
		ip daddr 10.96.0.10 tcp dport 80 counter dnat ip to 10.244.2.10:8080 comment "netlab-b613731a557f"
	}
	chain nat_output {
		type nat hook output priority -100; policy accept;
		ip daddr 10.96.0.10 tcp dport 80 numgen random mod 2 0 counter dnat ip to 10.244.1.10:8080 comment "netlab-f8bc3a522df9"
		ip daddr 10.96.0.10 tcp dport 80 counter dnat ip to 10.244.2.10:8080 comment "netlab-b613731a557f"
	}
}
EOF

# --- hosts files: every node by name
# node backend1
mkdir -p /etc/netns/k8s-service.backend1 && cat >/etc/netns/k8s-service.backend1/hosts <<'EOF'
# netlab: written by netlab up for lab k8s-service; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 node
10.0.0.1 node-eth0
10.244.1.1 node-veth1
10.244.2.1 node-veth2
10.0.0.2 client
10.0.0.2 client-eth0
10.244.1.10 backend1
10.244.1.10 backend1-eth0
10.244.2.10 backend2
10.244.2.10 backend2-eth0
EOF
# node backend2
mkdir -p /etc/netns/k8s-service.backend2 && cat >/etc/netns/k8s-service.backend2/hosts <<'EOF'
# netlab: written by netlab up for lab k8s-service; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 node
10.0.0.1 node-eth0
10.244.1.1 node-veth1
10.244.2.1 node-veth2
10.0.0.2 client
10.0.0.2 client-eth0
10.244.1.10 backend1
10.244.1.10 backend1-eth0
10.244.2.10 backend2
10.244.2.10 backend2-eth0
EOF
# node client
mkdir -p /etc/netns/k8s-service.client && cat >/etc/netns/k8s-service.client/hosts <<'EOF'
# netlab: written by netlab up for lab k8s-service; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 node
10.0.0.1 node-eth0
10.244.1.1 node-veth1
10.244.2.1 node-veth2
10.0.0.2 client
10.0.0.2 client-eth0
10.244.1.10 backend1
10.244.1.10 backend1-eth0
10.244.2.10 backend2
10.244.2.10 backend2-eth0
EOF
# node node
mkdir -p /etc/netns/k8s-service.node && cat >/etc/netns/k8s-service.node/hosts <<'EOF'
# netlab: written by netlab up for lab k8s-service; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 node
10.0.0.1 node-eth0
10.244.1.1 node-veth1
10.244.2.1 node-veth2
10.0.0.2 client
10.0.0.2 client-eth0
10.244.1.10 backend1
10.244.1.10 backend1-eth0
10.244.2.10 backend2
10.244.2.10 backend2-eth0
EOF
