#!/usr/bin/env bash
# tui-tmux.sh runs netlab tui for real, in a detached tmux session of
# 100x30, against a copy of the default lab under a name of its own, sends
# traffic inside the lab and checks that the UI shows the counters move.
# It leaves the two captures in $TUI_TMUX_OUT (default: a temporary
# directory it prints). Needs root, tmux and Go. Run by `just tui-demo`.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "tui-tmux.sh: run as root: it brings a lab up" >&2
	exit 1
fi
if ! command -v tmux >/dev/null; then
	echo "tui-tmux.sh: needs tmux (apt-get install -y tmux)" >&2
	exit 1
fi

work=$(mktemp -d)
out=${TUI_TMUX_OUT:-$work/captures}
mkdir -p "$out"
name="tuidemo$((RANDOM % 10000))"
session="netlab-$name"
bin="$work/netlab"
file="$work/$name.yaml"

cleanup() {
	tmux kill-session -t "$session" 2>/dev/null || true
	"$bin" down "$file" >/dev/null 2>&1 || true
	if [ -z "${TUI_TMUX_OUT:-}" ]; then
		echo "captures kept in $out"
		mv "$out" "/tmp/$name-captures" 2>/dev/null && echo "(moved to /tmp/$name-captures)"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$bin" ./cmd/netlab
sed "s/^name: single-ip\$/name: $name/" topologies/single-ip.yaml >"$file"
"$bin" up "$file" >/dev/null

tmux new-session -d -s "$session" -x 100 -y 30 "$bin tui $file --interval 500ms"

capture() { tmux capture-pane -p -t "$session"; }

# wait_for PATTERN: until the pane shows it (10 s at most).
wait_for() {
	for _ in $(seq 100); do
		if capture | grep -Eq -- "$1"; then
			return 0
		fi
		sleep 0.1
	done
	echo "tui-tmux.sh: the pane never showed /$1/:" >&2
	capture >&2
	return 1
}

# tx_packets: c1 veth0's tx packet counter, from its detail page.
tx_packets() { capture | awk '$1 == "packets" { print $4; exit }'; }

wait_for 'server +eth0'
wait_for 'drift: none'
# Open the detail of c1's veth0: the second row.
tmux send-keys -t "$session" j Enter
wait_for 'Interface c1:veth0'
wait_for '^ +packets'
capture >"$out/1-before.txt"
before=$(tx_packets)

# Traffic without ping: bash's /dev/udp, from c1 to the server, through
# the bridge and the masquerade rule, for about five seconds.
"$bin" exec "$file" c1 -- bash -c 'for i in $(seq 500); do echo x >/dev/udp/198.51.100.183/9; sleep 0.01; done' &
traffic=$!

moved=""
for _ in $(seq 50); do
	sleep 0.1
	now=$(tx_packets)
	if [ -n "$now" ] && [ "$now" -ge $((before + 20)) ]; then
		moved=$now
		break
	fi
done
capture >"$out/2-detail-during.txt"
# Back to the table: the rates of the interfaces on the path.
tmux send-keys -t "$session" Escape
wait_for 'c1 +veth0 +veth +up +1500 +[0-9.]+ +[1-9]'
capture >"$out/3-table-during.txt"
tmux send-keys -t "$session" Tab Tab
wait_for '\[Rules'
capture >"$out/4-rules-during.txt"
wait "$traffic"

cat "$out/1-before.txt"
echo "-----"
cat "$out/3-table-during.txt"
echo "-----"
cat "$out/4-rules-during.txt"
if [ -z "$moved" ]; then
	echo "tui-tmux.sh: FAIL: c1 veth0 tx packets stayed at $before" >&2
	exit 1
fi
echo "tui-tmux.sh: ok: c1 veth0 tx packets went from $before to $moved while traffic flowed"
tmux send-keys -t "$session" q
