#!/usr/bin/env bash
# Lab containers, built by hand: the commands netlab up runs, as ip and nft.
# Containers are processes in namespaces. Two containers on the host's bridge,
# each a node that runs a program, the way a container runs its entrypoint:
# server runs a web server on port 8000 that lists the network devices it sees
# (its own eth0 and lo, not the machine's), and c1 runs a poller that fetches
# http://server:8000/ every five seconds and prints what came back. c1 finds
# server by name: every node has its own /etc/hosts, written by netlab, naming
# every node of the lab. netlab logs prints what each program wrote; netlab
# down stops them all before it deletes the namespaces.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c1
ip netns add containers.c1
ip netns exec containers.c1 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n containers.c1 link set lo alias netlab:containers:c1 up
# node host
ip netns add containers.host
ip netns exec containers.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n containers.host link set lo alias netlab:containers:host up
# node server
ip netns add containers.server
ip netns exec containers.server sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n containers.server link set lo alias netlab:containers:server up

# --- bridges
# node host
ip -n containers.host link add br0 type bridge stp_state 0
ip -n containers.host link set br0 alias netlab:containers up

# --- veth pairs and other links
# node c1
ip -n containers.c1 link add eth0 type veth peer name veth2 netns containers.host
ip -n containers.c1 link set eth0 alias netlab:containers:host:veth2 up
ip -n containers.host link set veth2 alias netlab:containers:c1:eth0 master br0 up
# node host
ip -n containers.host link add veth1 type veth peer name eth0 netns containers.server
ip -n containers.host link set veth1 alias netlab:containers:server:eth0 master br0 up
ip -n containers.server link set eth0 alias netlab:containers:host:veth1 up

# --- addresses
# node c1
ip -n containers.c1 addr add 172.18.0.3/16 dev eth0
# node host
ip -n containers.host addr add 172.18.0.1/16 dev br0
# node server
ip -n containers.server addr add 172.18.0.2/16 dev eth0

# --- routes
# node c1
ip -n containers.c1 route replace default via 172.18.0.1 proto 78
# node server
ip -n containers.server route replace default via 172.18.0.1 proto 78

# --- hosts files: every node by name
# node c1
mkdir -p /etc/netns/containers.c1 && cat >/etc/netns/containers.c1/hosts <<'EOF'
# netlab: written by netlab up for lab containers; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.18.0.1 host
172.18.0.1 host-br0
172.18.0.2 server
172.18.0.2 server-eth0
172.18.0.3 c1
172.18.0.3 c1-eth0
EOF
# node host
mkdir -p /etc/netns/containers.host && cat >/etc/netns/containers.host/hosts <<'EOF'
# netlab: written by netlab up for lab containers; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.18.0.1 host
172.18.0.1 host-br0
172.18.0.2 server
172.18.0.2 server-eth0
172.18.0.3 c1
172.18.0.3 c1-eth0
EOF
# node server
mkdir -p /etc/netns/containers.server && cat >/etc/netns/containers.server/hosts <<'EOF'
# netlab: written by netlab up for lab containers; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.18.0.1 host
172.18.0.1 host-br0
172.18.0.2 server
172.18.0.2 server-eth0
172.18.0.3 c1
172.18.0.3 c1-eth0
EOF

# --- processes
# node c1
mkdir -p -m 0700 /run/netlab
ip netns exec containers.c1 setsid env -i -C / PATH="$PATH" NETLAB_LAB=containers NETLAB_NODE=c1 TZ=UTC NETLAB_PROCESS=containers:c1:poll:38fd0554cddbeacf python3 -u -c 'import time, urllib.request
while True:
    stamp = time.strftime("%H:%M:%S")
    try:
        with urllib.request.urlopen("http://server:8000/", timeout=2) as answer:
            print(stamp, "server answered", answer.status)
    except OSError as e:
        print(stamp, "server:", e)
    time.sleep(5)
' >>/run/netlab/containers.c1.poll.log 2>&1 </dev/null &
# node server
mkdir -p -m 0700 /run/netlab
ip netns exec containers.server setsid env -i -C / PATH="$PATH" NETLAB_LAB=containers NETLAB_NODE=server PYTHONUNBUFFERED=1 NETLAB_PROCESS=containers:server:web:112f1d3490d5c078 python3 -m http.server 8000 --bind 172.18.0.2 --directory /sys/class/net >>/run/netlab/containers.server.web.log 2>&1 </dev/null &
