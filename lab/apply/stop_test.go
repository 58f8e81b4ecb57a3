package apply_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/state"
)

// everyKindLab has every device kind and every kind of change: a host
// node with a bridge and a veth end, bridges with ports, veth pairs (one
// with an MTU, one end with a MAC), a macvlan on a parent of its own
// node (source mode, with source MACs), of another node and of the host,
// a vxlan on an underlay with an fdb entry, a tun and a tap with owners,
// addresses of both families, routes, sysctls and a NAT rule.
const everyKindLab = `name: stop
nodes:
  h:
    host: true
    interfaces:
      hbr0: {kind: bridge}
      nlt0: {}
  r:
    sysctls:
      net.ipv4.ip_forward: 1
    interfaces:
      br0: {kind: bridge, addresses: [10.9.1.1/24, "fd09::1/64"]}
      p1: {master: br0}
      eth1: {mac: "02:00:00:00:09:01", addresses: [10.9.2.1/24]}
      tun0: {kind: tun, mtu: 1400, tun: {owner: 1000}}
      tap0: {kind: tap, mac: "02:00:00:00:09:02", tap: {group: 100}}
      vx0: {kind: vxlan, vxlan: {vni: 42, remote: 192.0.2.2, dev: eth1, learning: false, fdb: [{mac: "00:00:00:00:00:00", dst: 192.0.2.3}]}}
      mv1: {kind: macvlan, macvlan: {parent: eth1, mode: source, source-macs: ["02:00:00:00:00:02"]}}
    nat:
      - {action: masquerade, source: 10.9.1.0/24, out: eth1}
  a:
    interfaces:
      eth0: {addresses: [10.9.1.2/24, "fd09::2/64"]}
      mv0: {kind: macvlan, macvlan: {parent: b:eth0}}
      mv2: {kind: macvlan, macvlan: {parent: h:hbr0, mode: private}}
    routes: [{to: default, via: 10.9.1.1}]
  b:
    interfaces:
      eth0: {addresses: [10.9.2.2/24]}
      up0: {}
    routes: [{to: 10.9.1.0/24, via: 10.9.2.1}]
links:
  - [a:eth0, r:p1]
  - {endpoints: [b:eth0, r:eth1], mtu: 9000}
  - [h:nlt0, b:up0]
`

// tryUp is an up that may fail: observe, diff, apply, verify.
func tryUp(ctx context.Context, k *kerneltest.Fake, l *lab.Lab) error {
	desired := plan.Desired(l)
	observed, err := k.Observe(ctx, l.Name, desired)
	if err != nil {
		return fmt.Errorf("observe: %w", err)
	}
	if _, err := apply.Apply(ctx, k, plan.Diff(desired, observed, plan.Options{}), apply.Options{}); err != nil {
		return err
	}
	return apply.Verify(ctx, k, desired, nil, plan.Options{})
}

// stopped is what interrupted ups left in the kernel, counted from their
// transcripts.
type stopped struct{ temp, stubs, hostTemp int }

func (s *stopped) count(transcript string) {
	transcript, hostTemp := withoutHostTemp(transcript)
	s.hostTemp += hostTemp
	for line := range strings.Lines(transcript) {
		switch {
		case strings.Contains(line, " add ") && strings.Contains(line, state.TempLinkPrefix):
			s.temp++
		case strings.HasPrefix(line, "touch "):
			s.stubs++
		}
	}
}

// recovers checks that from what an interrupted up left in k, either an
// up converges (it leaves what an up from empty leaves, and the plan
// after it is empty) and a down then leaves nothing, or (then "down") a
// down alone leaves nothing.
func recovers(t *testing.T, k *kerneltest.Fake, l *lab.Lab, then, fromEmpty string) {
	t.Helper()
	ctx := context.Background()
	if then == "up" {
		upFake(t, k, l, plan.Options{})
		if p := upFake(t, k, l, plan.Options{}); !p.Empty() {
			t.Errorf("plan after the second up is not empty:\n%s", planCmds(p))
		}
		if got, _ := withoutHostTemp(k.String()); got != fromEmpty {
			t.Errorf("the second up left another kernel than an up from empty (-from empty +after):\n%s", diffLines(fromEmpty, got))
		}
	}
	if _, err := apply.Down(ctx, k, l.Name, nil); err != nil {
		t.Fatalf("down: %v", err)
	}
	if _, err := apply.DownHost(ctx, k, l.Name); err != nil {
		t.Fatalf("down of the host node: %v", err)
	}
	if got, _ := withoutHostTemp(k.String()); got != "" {
		t.Errorf("down left:\n%s", got)
	}
}

// withoutHostTemp drops from a transcript the links of the machine's
// namespace still under their temporary name and unmarked: what a netlab
// killed between creating a link there and marking it leaves, which no
// later up or down can tell from the machine's own (docs/decisions.md,
// "Second release: the fake kernel"). It returns how many it dropped.
func withoutHostTemp(transcript string) (string, int) {
	lines := slices.Collect(strings.Lines(transcript))
	drop := make(map[string]bool)
	for _, line := range lines {
		f := strings.Fields(line)
		// ip link add [name] NAME type KIND, ip tuntap add dev NAME mode
		// KIND: made in the machine's namespace (no -n), and not a veth,
		// which goes with its other end.
		if len(f) < 5 || f[0] != "ip" || f[2] != "add" || slices.Contains(f, "netns") || slices.Contains(f, "veth") {
			continue
		}
		name := f[3]
		if name == "name" || name == "dev" {
			name = f[4]
		}
		unmarked := "ip link set " + name + " alias ''\n"
		if strings.HasPrefix(name, state.TempLinkPrefix) && slices.Contains(lines, unmarked) {
			drop[line], drop[unmarked] = true, true
		}
	}
	var out strings.Builder
	for _, line := range lines {
		if !drop[line] {
			out.WriteString(line)
		}
	}
	return out.String(), len(drop) / 2
}

// diffLines is the lines only in a (-) and only in b (+).
func diffLines(a, b string) string {
	al, bl := slices.Collect(strings.Lines(a)), slices.Collect(strings.Lines(b))
	var out []string
	for _, line := range al {
		if !slices.Contains(bl, line) {
			out = append(out, "- "+line)
		}
	}
	for _, line := range bl {
		if !slices.Contains(al, line) {
			out = append(out, "+ "+line)
		}
	}
	return strings.Join(out, "")
}

// TestStopInsideEveryStep kills an up, as SIGKILL would, after every
// kernel message of every write of an up of everyKindLab (kerneltest's
// StopAt), and checks that from what it left a second up converges and a
// down then leaves nothing, and that a down alone leaves nothing.
func TestStopInsideEveryStep(t *testing.T) {
	l := mustLab(t, "stop", []byte(everyKindLab))
	k := kerneltest.NewFake()
	upFake(t, k, l, plan.Options{})
	writes, fromEmpty := k.Writes(), k.String()
	var left stopped
	stops, inside := 0, 0
	for w := 1; w <= writes; w++ {
		for step := 1; ; step++ {
			done := false
			for _, then := range []string{"up", "down"} {
				k := kerneltest.NewFake()
				k.StopAt(kerneltest.AnyWrite, w, step)
				err := tryUp(context.Background(), k, l)
				if !k.Stopped() {
					if step == 1 {
						t.Fatalf("write %d of %d sent no message", w, writes)
					}
					done = true // write w has step-1 messages
					break
				}
				if !errors.Is(err, kerneltest.ErrStopped) {
					t.Fatalf("up stopped after message %d of write %d = %v, want %v", step, w, err, kerneltest.ErrStopped)
				}
				k.Restart()
				if then == "up" {
					stops++
					if step > 1 {
						inside++
					}
					left.count(k.String())
				}
				t.Run(fmt.Sprintf("write%d-message%d-%s", w, step, then), func(t *testing.T) {
					recovers(t, k, l, then, fromEmpty)
				})
			}
			if done {
				break
			}
		}
	}
	t.Logf("%d writes, %d stops, %d inside a write; left %d links under a temporary name (%d of them unmarked in the machine's namespace) and %d namespace stubs",
		writes, stops, inside, left.temp+left.hostTemp, left.hostTemp, left.stubs)
	if inside == 0 || left.temp == 0 || left.stubs == 0 {
		t.Errorf("no stop fell inside a write (%d), left a link under its temporary name (%d) or a namespace stub (%d): the fake makes its writes in one step",
			inside, left.temp, left.stubs)
	}
}

// TestCancelInsideEveryStep cancels an up of everyKindLab at each point
// it asks its context, as lab/kernel's TestCancelledUpResumes does on the
// real kernel: the up fails with context.Canceled, and from what it left a
// second up converges and a down then leaves nothing, and a down alone
// leaves nothing.
func TestCancelInsideEveryStep(t *testing.T) {
	l := mustLab(t, "stop", []byte(everyKindLab))
	count := kerneltest.NewCutCtx(0)
	k := kerneltest.NewFake()
	if err := tryUp(count, k, l); err != nil {
		t.Fatal(err)
	}
	total, fromEmpty := count.Asked(), k.String()
	var left stopped
	var insideChange int
	for n := int64(1); n <= total; n++ {
		for _, then := range []string{"up", "down"} {
			k := kerneltest.NewFake()
			err := tryUp(kerneltest.NewCutCtx(n), k, l)
			if err == nil {
				continue // cut after the last question that matters
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("up cut at question %d of %d = %v, want %v", n, total, err, context.Canceled)
			}
			if then == "up" {
				var ce *apply.ChangeError
				if errors.As(err, &ce) {
					insideChange++
				}
				left.count(k.String())
			}
			t.Run(fmt.Sprintf("cut%d-%s", n, then), func(t *testing.T) {
				recovers(t, k, l, then, fromEmpty)
			})
		}
	}
	t.Logf("%d cuts: %d inside a change; left %d links under a temporary name", total, insideChange, left.temp)
	if insideChange == 0 || left.temp == 0 {
		t.Errorf("no cut stopped inside a change (%d) or left a link under its temporary name (%d): the fake does not stop between messages", insideChange, left.temp)
	}
}
