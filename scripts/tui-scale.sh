#!/usr/bin/env bash
# tui-scale.sh measures netlab tui on a large lab, as it runs: a star of
# N nodes (a bridge node with a firewall, N-1 leaves on veth pairs) is
# brought up, then each netlab binary given runs `netlab tui` in a
# detached tmux session for SECONDS, and the script prints its CPU time
# per second of the last SECONDS/2 (ticks and full reads together, at
# --interval 1s), its resident memory at the end and at its peak
# (VmRSS, VmHWM). The lab is taken down at the end, whatever happens.
#
#	sudo scripts/tui-scale.sh 1000 30 /tmp/netlab-before ./netlab
set -euo pipefail

if [ "$(id -u)" != 0 ] || [ $# -lt 3 ]; then
	echo "usage: sudo tui-scale.sh N SECONDS NETLAB..." >&2
	exit 1
fi
n=$1 secs=$2
shift 2
work=$(mktemp -d)
name="nltest$((RANDOM % 100000))"
file="$work/$name.yaml"
session="tuiscale-$name"
first=$1

cleanup() {
	tmux kill-session -t "$session" 2>/dev/null || true
	"$first" down "$file" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

{
	printf 'name: %s\nnodes:\n  hub:\n    firewall:\n      input:\n        rules:\n          - {action: accept, proto: icmp}\n          - {action: drop, proto: tcp, dport: 22}\n    interfaces:\n      br0: {kind: bridge, addresses: [10.0.0.1/16]}\n' "$name"
	for ((i = 1; i < n; i++)); do printf '      p%d: {master: br0}\n' "$i"; done
	for ((i = 1; i < n; i++)); do printf '  n%d:\n    interfaces:\n      eth0: {addresses: [10.0.%d.%d/16]}\n' "$i" $((i / 250)) $((i % 250 + 2)); done
	echo "links:"
	for ((i = 1; i < n; i++)); do printf '  - [n%d:eth0, hub:p%d]\n' "$i" "$i"; done
} >"$file"
"$first" up "$file" >/dev/null

ticks=$(getconf CLK_TCK)
for bin in "$@"; do
	tmux new-session -d -s "$session" -x 120 -y 40 "$bin tui $file --interval 1s"
	sleep 1
	pid=$(pgrep -f -n "^$bin tui $file" || true)
	if [ -z "$pid" ]; then
		echo "$bin: netlab tui did not start" >&2
		exit 1
	fi
	sleep $((secs / 2))
	cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	sleep $((secs - secs / 2))
	cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
	threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
	screen=$(tmux capture-pane -p -t "$session" | head -2 | tr '\n' ' ')
	tmux kill-session -t "$session"
	awk -v b="$bin" -v c=$((cpu1 - cpu0)) -v t="$ticks" -v s=$((secs - secs / 2)) -v r="$rss" -v h="$hwm" -v n="$n" \
		'BEGIN { printf "%-28s N=%d  cpu %.1f ms/s  rss %.0f MB  peak rss %.0f MB\n", b, n, c / t * 1000 / s, r / 1024, h / 1024 }'
	echo "  threads: $threads; screen: $screen"
done
