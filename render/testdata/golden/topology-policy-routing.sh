#!/usr/bin/env bash
# Lab policy-rt, built by hand: the commands netlab up runs, as ip and nft.
# Policy routing: one router, two ways out. The office router gw has two LANs,
# sales (10.0.1.0/24, where alice is) and lab (10.0.2.0/24, bob's), and two
# uplinks, to the providers isp1 and isp2, which both reach the server at
# 203.0.113.10 on the Internet (a switch, the node internet). gw's main table
# has no default route at all: two rules send what comes from each LAN to a
# table of its own, 101 for sales and 102 for lab, and each table has one
# default route, through its provider. Both providers masquerade, so the
# server sees which way each packet came: from isp1's 203.0.113.1 for sales,
# from isp2's 203.0.113.2 for lab. Take a rule away and its LAN loses the
# Internet, as the main table has no way out; gw's own packets, which no rule
# matches, have none either.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node alice
ip netns add policy-rt.alice
ip netns exec policy-rt.alice sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.alice link set lo alias netlab:policy-rt:alice up
# node bob
ip netns add policy-rt.bob
ip netns exec policy-rt.bob sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.bob link set lo alias netlab:policy-rt:bob up
# node gw
ip netns add policy-rt.gw
ip netns exec policy-rt.gw sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.gw link set lo alias netlab:policy-rt:gw up
# node internet
ip netns add policy-rt.internet
ip netns exec policy-rt.internet sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.internet link set lo alias netlab:policy-rt:internet up
# node isp1
ip netns add policy-rt.isp1
ip netns exec policy-rt.isp1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.isp1 link set lo alias netlab:policy-rt:isp1 up
# node isp2
ip netns add policy-rt.isp2
ip netns exec policy-rt.isp2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.isp2 link set lo alias netlab:policy-rt:isp2 up
# node server
ip netns add policy-rt.server
ip netns exec policy-rt.server sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n policy-rt.server link set lo alias netlab:policy-rt:server up

# --- bridges
# node internet
ip -n policy-rt.internet link add br0 type bridge stp_state 0
ip -n policy-rt.internet link set br0 alias netlab:policy-rt up

# --- veth pairs and other links
# node alice
ip -n policy-rt.alice link add eth0 type veth peer name sales netns policy-rt.gw
ip -n policy-rt.alice link set eth0 alias netlab:policy-rt:gw:sales up
ip -n policy-rt.gw link set dev sales alias netlab:policy-rt:alice:eth0 up
# node bob
ip -n policy-rt.bob link add eth0 type veth peer name lab netns policy-rt.gw
ip -n policy-rt.bob link set eth0 alias netlab:policy-rt:gw:lab up
ip -n policy-rt.gw link set dev lab alias netlab:policy-rt:bob:eth0 up
# node gw
ip -n policy-rt.gw link add up1 type veth peer name down netns policy-rt.isp1
ip -n policy-rt.gw link set up1 alias netlab:policy-rt:isp1:down up
ip -n policy-rt.isp1 link set dev down alias netlab:policy-rt:gw:up1 up
ip -n policy-rt.gw link add up2 type veth peer name down netns policy-rt.isp2
ip -n policy-rt.gw link set up2 alias netlab:policy-rt:isp2:down up
ip -n policy-rt.isp2 link set dev down alias netlab:policy-rt:gw:up2 up
# node internet
ip -n policy-rt.internet link add p1 type veth peer name net netns policy-rt.isp1
ip -n policy-rt.internet link set p1 alias netlab:policy-rt:isp1:net master br0 up
ip -n policy-rt.isp1 link set dev net alias netlab:policy-rt:internet:p1 up
ip -n policy-rt.internet link add p2 type veth peer name net netns policy-rt.isp2
ip -n policy-rt.internet link set p2 alias netlab:policy-rt:isp2:net master br0 up
ip -n policy-rt.isp2 link set dev net alias netlab:policy-rt:internet:p2 up
ip -n policy-rt.internet link add p3 type veth peer name eth0 netns policy-rt.server
ip -n policy-rt.internet link set p3 alias netlab:policy-rt:server:eth0 master br0 up
ip -n policy-rt.server link set eth0 alias netlab:policy-rt:internet:p3 up

# --- addresses
# node alice
ip -n policy-rt.alice addr add 10.0.1.10/24 dev eth0
# node bob
ip -n policy-rt.bob addr add 10.0.2.10/24 dev eth0
# node gw
ip -n policy-rt.gw addr add 10.0.1.1/24 dev sales
ip -n policy-rt.gw addr add 10.0.2.1/24 dev lab
ip -n policy-rt.gw addr add 10.255.1.1/30 dev up1
ip -n policy-rt.gw addr add 10.255.2.1/30 dev up2
# node isp1
ip -n policy-rt.isp1 addr add 10.255.1.2/30 dev down
ip -n policy-rt.isp1 addr add 203.0.113.1/24 dev net
# node isp2
ip -n policy-rt.isp2 addr add 10.255.2.2/30 dev down
ip -n policy-rt.isp2 addr add 203.0.113.2/24 dev net
# node server
ip -n policy-rt.server addr add 203.0.113.10/24 dev eth0

# --- routes
# node alice
ip -n policy-rt.alice route replace default via 10.0.1.1 proto 78
# node bob
ip -n policy-rt.bob route replace default via 10.0.2.1 proto 78
# node gw
ip -n policy-rt.gw -4 rule add priority 1000 from 10.0.1.0/24 table 101 proto 78
ip -n policy-rt.gw -4 rule add priority 1001 from 10.0.2.0/24 table 102 proto 78
ip -n policy-rt.gw route replace default via 10.255.1.2 table 101 proto 78
ip -n policy-rt.gw route replace default via 10.255.2.2 table 102 proto 78
# node isp1
ip -n policy-rt.isp1 route replace 10.0.0.0/16 via 10.255.1.1 proto 78
# node isp2
ip -n policy-rt.isp2 route replace 10.0.0.0/16 via 10.255.2.1 proto 78

# --- sysctls
# node gw
ip netns exec policy-rt.gw sysctl -qw net.ipv4.ip_forward=1
# node isp1
ip netns exec policy-rt.isp1 sysctl -qw net.ipv4.ip_forward=1
# node isp2
ip netns exec policy-rt.isp2 sysctl -qw net.ipv4.ip_forward=1

# --- nftables: NAT and filter rules
# node isp1
ip netns exec policy-rt.isp1 nft -f - <<'EOF'
table inet netlab {
	chain nat_postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "net" counter masquerade comment "netlab-bd4f365511ce"
	}
}
EOF
# node isp2
ip netns exec policy-rt.isp2 nft -f - <<'EOF'
table inet netlab {
	chain nat_postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "net" counter masquerade comment "netlab-bd4f365511ce"
	}
}
EOF

# --- hosts files: every node by name
# node alice
mkdir -p /etc/netns/policy-rt.alice && cat >/etc/netns/policy-rt.alice/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
# node bob
mkdir -p /etc/netns/policy-rt.bob && cat >/etc/netns/policy-rt.bob/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
# node gw
mkdir -p /etc/netns/policy-rt.gw && cat >/etc/netns/policy-rt.gw/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
# node internet
mkdir -p /etc/netns/policy-rt.internet && cat >/etc/netns/policy-rt.internet/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
# node isp1
mkdir -p /etc/netns/policy-rt.isp1 && cat >/etc/netns/policy-rt.isp1/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
# node isp2
mkdir -p /etc/netns/policy-rt.isp2 && cat >/etc/netns/policy-rt.isp2/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
# node server
mkdir -p /etc/netns/policy-rt.server && cat >/etc/netns/policy-rt.server/hosts <<'EOF'
# netlab: written by netlab up for lab policy-rt; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.1.1 gw
10.0.1.1 gw-sales
10.0.2.1 gw-lab
10.255.1.1 gw-up1
10.255.2.1 gw-up2
10.0.1.10 alice
10.0.1.10 alice-eth0
10.0.2.10 bob
10.0.2.10 bob-eth0
10.255.1.2 isp1
10.255.1.2 isp1-down
203.0.113.1 isp1-net
10.255.2.2 isp2
10.255.2.2 isp2-down
203.0.113.2 isp2-net
203.0.113.10 server
203.0.113.10 server-eth0
EOF
