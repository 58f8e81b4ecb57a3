#!/usr/bin/env bash
# Lab quoting, built by hand: the commands netlab up runs, as ip and nft.
# Names that ip, the shell or nft could misread: ip keywords and their
# abbreviations, shell specials, a trailing * (an nft wildcard) and a
# backslash, in links, routes and rules.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node down
ip netns add quoting.down
ip netns exec quoting.down sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n quoting.down link set lo alias netlab:quoting:down up
# node up
ip netns add quoting.up
ip netns exec quoting.up sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n quoting.up link set lo alias netlab:quoting:up up

# --- bridges
# node up
ip -n quoting.up link add name 'a'\''b\$c' type bridge stp_state 0
ip -n quoting.up link set dev 'a'\''b\$c' alias netlab:quoting up

# --- veth pairs and other links
# node down
ip -n quoting.down link add name dev type veth peer name h netns quoting.up
ip -n quoting.down link set dev dev alias netlab:quoting:up:h up
ip -n quoting.up link set dev h alias netlab:quoting:down:dev up
ip -n quoting.down link add name name type veth peer name txq netns quoting.up
ip -n quoting.down link set dev name alias netlab:quoting:up:txq up
ip -n quoting.up link set dev txq alias netlab:quoting:down:name up
ip -n quoting.down link add name peer type veth peer name mtu netns quoting.up
ip -n quoting.down link set dev peer alias netlab:quoting:up:mtu up
ip -n quoting.up link set dev mtu alias netlab:quoting:down:peer master 'a'\''b\$c' up
ip -n quoting.down link add name type type veth peer name 'ab*' netns quoting.up
ip -n quoting.down link set dev type alias 'netlab:quoting:up:ab*' up
ip -n quoting.up link set dev 'ab*' alias netlab:quoting:down:type up

# --- addresses
# node down
ip -n quoting.down addr add 10.0.0.2/24 dev dev
ip -n quoting.down addr add 10.0.1.2/24 dev name
ip -n quoting.down addr add 10.0.2.2/24 dev type
# node up
ip -n quoting.up addr add 10.0.0.1/24 dev h
ip -n quoting.up addr add 10.0.1.1/24 dev txq
ip -n quoting.up addr add 10.0.2.1/24 dev 'ab*'
ip -n quoting.up addr add 10.0.3.1/24 dev 'a'\''b\$c'

# --- routes
# node up
ip -n quoting.up route replace 10.9.0.0/16 via 10.0.0.2 dev h proto 78

# --- sysctls
# node up
ip netns exec quoting.up sysctl -qw net.ipv4.ip_forward=1

# --- nftables: NAT and filter rules
# node up
ip netns exec quoting.up nft -f - <<'EOF'
table inet netlab {
	chain nat_prerouting {
		type nat hook prerouting priority -100; policy accept;
		meta nfproto ipv4 iifname "h" tcp dport 8080 counter dnat ip to 10.0.1.2:80 comment "netlab-eb2027dcbdd2"
	}
	chain filter_input {
		type filter hook input priority 0; policy accept;
		iifname "txq" counter log prefix "it's a\b #1: " comment "netlab-32bc19e9b1b4"
		iifname "a'b\$c" counter accept comment "netlab-cc0d36a0b8b5"
	}
	chain nat_output {
		type nat hook output priority -100; policy accept;
		meta nfproto ipv4 fib daddr type local tcp dport 8080 counter dnat ip to 10.0.1.2:80 comment "netlab-4cb2fb2b6854"
	}
	chain nat_postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "ab\*" counter masquerade comment "netlab-454e04153284"
	}
}
EOF

# --- hosts files: every node by name
# node down
mkdir -p /etc/netns/quoting.down && cat >/etc/netns/quoting.down/hosts <<'EOF'
# netlab: written by netlab up for lab quoting; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 up
10.0.0.1 up-h
10.0.1.1 up-txq
10.0.2.1 up-ab*
10.0.3.1 up-a'b\$c
10.0.0.2 down
10.0.0.2 down-dev
10.0.1.2 down-name
10.0.2.2 down-type
EOF
# node up
mkdir -p /etc/netns/quoting.up && cat >/etc/netns/quoting.up/hosts <<'EOF'
# netlab: written by netlab up for lab quoting; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
10.0.0.1 up
10.0.0.1 up-h
10.0.1.1 up-txq
10.0.2.1 up-ab*
10.0.3.1 up-a'b\$c
10.0.0.2 down
10.0.0.2 down-dev
10.0.1.2 down-name
10.0.2.2 down-type
EOF
