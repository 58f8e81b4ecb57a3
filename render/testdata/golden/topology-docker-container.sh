#!/usr/bin/env bash
# Lab docker-ctr, built by hand: the commands netlab up runs, as ip and nft.
# Docker's "container" network mode (docker run --network container:web): the
# second container joins the network namespace of the first instead of getting
# its own. A netlab node is one network namespace, so both containers are the
# one node web, and each is a process it runs: the app, a web server that
# listens on 127.0.0.1:8080 only, and its sidecar, a proxy that listens on
# web's address, port 80, and passes every request on to the app at
# 127.0.0.1:8080 (Kubernetes pods work this way). The two share eth0, its
# address and lo, so the sidecar reaches the app over localhost and c2 reaches
# the app only through the sidecar. Container c2 on the same bridge has a
# namespace of its own: the app's port is closed to it, and its 127.0.0.1 is
# its own loopback, where nothing listens.
# Needs root, iproute2 and nftables. Remove it with: netlab down, or ip netns del each namespace.
set -euo pipefail

# --- namespaces: one per node
# node c2
ip netns add docker-ctr.c2
ip netns exec docker-ctr.c2 sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n docker-ctr.c2 link set lo alias netlab:docker-ctr:c2 up
# node host
ip netns add docker-ctr.host
ip netns exec docker-ctr.host sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n docker-ctr.host link set lo alias netlab:docker-ctr:host up
# node web
ip netns add docker-ctr.web
ip netns exec docker-ctr.web sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n docker-ctr.web link set lo alias netlab:docker-ctr:web up

# --- bridges
# node host
ip -n docker-ctr.host link add br0 type bridge stp_state 0
ip -n docker-ctr.host link set br0 alias netlab:docker-ctr up

# --- veth pairs and other links
# node c2
ip -n docker-ctr.c2 link add eth0 type veth peer name veth2 netns docker-ctr.host
ip -n docker-ctr.c2 link set eth0 alias netlab:docker-ctr:host:veth2 up
ip -n docker-ctr.host link set veth2 alias netlab:docker-ctr:c2:eth0 master br0 up
# node host
ip -n docker-ctr.host link add veth1 type veth peer name eth0 netns docker-ctr.web
ip -n docker-ctr.host link set veth1 alias netlab:docker-ctr:web:eth0 master br0 up
ip -n docker-ctr.web link set eth0 alias netlab:docker-ctr:host:veth1 up

# --- addresses
# node c2
ip -n docker-ctr.c2 addr add 172.17.0.3/16 dev eth0
# node host
ip -n docker-ctr.host addr add 172.17.0.1/16 dev br0
# node web
ip -n docker-ctr.web addr add 172.17.0.2/16 dev eth0

# --- routes
# node c2
ip -n docker-ctr.c2 route replace default via 172.17.0.1 proto 78
# node web
ip -n docker-ctr.web route replace default via 172.17.0.1 proto 78

# --- hosts files: every node by name
# node c2
mkdir -p /etc/netns/docker-ctr.c2 && cat >/etc/netns/docker-ctr.c2/hosts <<'EOF'
# netlab: written by netlab up for lab docker-ctr; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
172.17.0.2 web
172.17.0.2 web-eth0
172.17.0.3 c2
172.17.0.3 c2-eth0
EOF
# node host
mkdir -p /etc/netns/docker-ctr.host && cat >/etc/netns/docker-ctr.host/hosts <<'EOF'
# netlab: written by netlab up for lab docker-ctr; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
172.17.0.2 web
172.17.0.2 web-eth0
172.17.0.3 c2
172.17.0.3 c2-eth0
EOF
# node web
mkdir -p /etc/netns/docker-ctr.web && cat >/etc/netns/docker-ctr.web/hosts <<'EOF'
# netlab: written by netlab up for lab docker-ctr; removed by down
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
172.17.0.1 host
172.17.0.1 host-br0
172.17.0.2 web
172.17.0.2 web-eth0
172.17.0.3 c2
172.17.0.3 c2-eth0
EOF

# --- processes
# node web
mkdir -p -m 0700 /run/netlab
ip netns exec docker-ctr.web setsid env -i -C / PATH="$PATH" NETLAB_LAB=docker-ctr NETLAB_NODE=web PYTHONUNBUFFERED=1 NETLAB_PROCESS=docker-ctr:web:app:77ffaec1722e09ce /bin/sh -c 'exec python3 -m http.server 8080 --bind 127.0.0.1 --directory /sys/class/net' >>/run/netlab/docker-ctr.web.app.log 2>&1 </dev/null &
mkdir -p -m 0700 /run/netlab
ip netns exec docker-ctr.web setsid env -i -C / PATH="$PATH" NETLAB_LAB=docker-ctr NETLAB_NODE=web NETLAB_PROCESS=docker-ctr:web:sidecar:ae28c25fb9a55c10 python3 -u -c 'import http.client, http.server

class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        app = http.client.HTTPConnection("127.0.0.1", 8080, timeout=5)
        try:
            app.request("GET", self.path)
            answer = app.getresponse()
            body = answer.read()
        except OSError as e:
            self.send_error(502, "app at 127.0.0.1:8080: %s" % e)
            return
        finally:
            app.close()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type", "text/plain"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

print("sidecar: 172.17.0.2:80 -> app at 127.0.0.1:8080")
http.server.HTTPServer(("172.17.0.2", 80), Proxy).serve_forever()
' >>/run/netlab/docker-ctr.web.sidecar.log 2>&1 </dev/null &
