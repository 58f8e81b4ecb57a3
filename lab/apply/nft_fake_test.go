package apply_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/topologies"
)

// The reconciler's handling of nftables tables, against the fake kernel:
// one NFTableSet per table that changes, none on a second up, nothing
// changed by a refused one, and a delete when a node loses its rules.

// nftDefaultNAT is the host's nat section in the default lab file.
const nftDefaultNAT = "    nat:\n      - {action: masquerade, source: 192.168.31.0/24, out: eth0}\n"

// nftDefaultLab is the default lab with the host's nat section replaced by
// rules ("" for none).
func nftDefaultLab(t *testing.T, rules string) *lab.Lab {
	t.Helper()
	text := string(topologies.Default())
	if !strings.Contains(text, nftDefaultNAT) {
		t.Fatalf("the default lab no longer has the host's nat section %q", nftDefaultNAT)
	}
	return mustLab(t, "single-ip", []byte(strings.Replace(text, nftDefaultNAT, rules, 1)))
}

// nftHostTable is the host's netlab table as the fake shows it, or nil.
func nftHostTable(t *testing.T, k *kerneltest.Fake, l *lab.Lab) *state.NFTable {
	t.Helper()
	s, err := k.Observe(context.Background(), l.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Nodes["host"] == nil {
		return nil
	}
	return s.Nodes["host"].NFT
}

// nftSpy is the fake kernel, with a record of the tables NFTableSet was
// given.
type nftSpy struct {
	*kerneltest.Fake
	mu   sync.Mutex
	sets []nftSet
}

type nftSet struct {
	netns string
	table *state.NFTable
}

func (s *nftSpy) NFTableSet(ctx context.Context, netns string, t *state.NFTable) error {
	s.mu.Lock()
	s.sets = append(s.sets, nftSet{netns, t})
	s.mu.Unlock()
	return s.Fake.NFTableSet(ctx, netns, t)
}

// errNFTFault is the error the tests inject into NFTableSet.
var errNFTFault = errors.New("nftables refused")

// TestNFTFakeUp brings the default lab up: one NFTableSet builds the
// host's table; a second plan is empty and a second up writes nothing.
func TestNFTFakeUp(t *testing.T) {
	t.Parallel()
	l := mustLab(t, "single-ip", topologies.Default())
	k := kerneltest.NewFake()
	upFake(t, k, l, plan.Options{})
	if n := k.Calls("NFTableSet"); n != 1 {
		t.Errorf("up of the default lab made %d NFTableSet calls, want 1 (the host's table)", n)
	}
	want := plan.NodeNFT(l.Node("host"))
	if got := nftHostTable(t, k, l); got.Signature() != want.Signature() {
		t.Errorf("the host's table is\n%s\nwant\n%s", got.Signature(), want.Signature())
	}

	writes, transcript := k.Writes(), k.String()
	p := upFake(t, k, l, plan.Options{LastApplied: plan.Desired(l)})
	if !p.Empty() || len(p.Unmanaged) > 0 || len(p.Conflicts) > 0 {
		var b strings.Builder
		p.WriteText(&b)
		t.Errorf("second plan is not empty:\n%s", b.String())
	}
	if n := k.Writes() - writes; n != 0 {
		t.Errorf("second up made %d writes, want 0", n)
	}
	if n := k.Calls("NFTableSet"); n != 1 {
		t.Errorf("after a second up, %d NFTableSet calls in all, want still 1", n)
	}
	if got := k.String(); got != transcript {
		t.Errorf("second up changed the kernel (-before +after):\n%s", cmp.Diff(transcript, got))
	}
}

// TestNFTFakeRefused makes the kernel refuse the NFTableSet of an up that
// creates, changes or deletes the host's table: apply fails naming the
// change and the node, the table the host had stays as it was, and the
// next up converges.
func TestNFTFakeRefused(t *testing.T) {
	t.Parallel()
	const input = "    firewall:\n      input:\n        rules:\n          - {action: drop, proto: tcp, dport: 23}\n"
	tests := []struct {
		name   string
		from   string // the host's rules before (skip the first up when "-")
		to     string
		action plan.Action
	}{
		{name: "create", from: "-", to: nftDefaultNAT, action: plan.Create},
		{name: "update", from: nftDefaultNAT, to: nftDefaultNAT + input, action: plan.Update},
		{name: "delete", from: nftDefaultNAT, to: "", action: plan.Delete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			k := kerneltest.NewFake()
			var before *state.NFTable
			if tc.from != "-" {
				from := nftDefaultLab(t, tc.from)
				upFake(t, k, from, plan.Options{})
				before = nftHostTable(t, k, from)
			}
			to := nftDefaultLab(t, tc.to)
			p := planFake(t, k, to, reconcile.Options{})
			var nft *plan.Change
			for _, c := range p.Changes {
				if c.Object == plan.NFTables {
					nft = c
				}
			}
			if nft == nil || nft.Action != tc.action || nft.Node != "host" {
				var b strings.Builder
				p.WriteText(&b)
				t.Fatalf("the plan has no %s of the host's nftables table:\n%s", tc.action, b.String())
			}

			calls := k.Calls("NFTableSet")
			k.FailOn("NFTableSet", errNFTFault, 1)
			_, err := reconcile.Up(ctx, k, to, reconcile.Options{})
			if k.Calls("NFTableSet") != calls+1 {
				t.Fatalf("apply made %d NFTableSet calls, want 1", k.Calls("NFTableSet")-calls)
			}
			if !errors.Is(err, errNFTFault) {
				t.Fatalf("apply returned %v, want the injected error", err)
			}
			var ce *apply.ChangeError
			if !errors.As(err, &ce) || ce.Change.Line() != nft.Line() {
				t.Errorf("error %v does not carry the nftables change", err)
			}
			for _, want := range []string{"node host", "nftables table inet netlab", tc.action.String()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			if got := nftHostTable(t, k, to); got.Signature() != before.Signature() {
				t.Errorf("after the refused change the host's table is\n%s\nwant the one it had\n%s", got.Signature(), before.Signature())
			}

			upFake(t, k, to, plan.Options{})
			if got, want := k.String(), transcriptFromEmpty(t, to); got != want {
				t.Errorf("up after the refusal built another kernel (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// TestNFTFakeRulesRemoved drops every rule of the host from the file: the
// next up deletes the host's table (NFTableSet with nil) and nothing else.
func TestNFTFakeRulesRemoved(t *testing.T) {
	t.Parallel()
	k := &nftSpy{Fake: kerneltest.NewFake()}
	l := mustLab(t, "single-ip", topologies.Default())
	upFake(t, k, l, plan.Options{})
	bare := nftDefaultLab(t, "")
	k.sets = nil

	p := upFake(t, k, bare, plan.Options{LastApplied: plan.Desired(l)})
	if len(p.Changes) != 1 || p.Changes[0].Object != plan.NFTables || p.Changes[0].Action != plan.Delete || p.Changes[0].Drift {
		var b strings.Builder
		p.WriteText(&b)
		t.Fatalf("plan after the rules were dropped; want only the delete of the host's table, not drift:\n%s", b.String())
	}
	host := state.NetNSName(l.Name, "host")
	if len(k.sets) != 1 || k.sets[0].netns != host || k.sets[0].table != nil {
		t.Errorf("NFTableSet calls %+v, want one for %s with nil", k.sets, host)
	}
	if got := nftHostTable(t, k.Fake, bare); got != nil {
		t.Errorf("the host still has a table:\n%s", got.Signature())
	}
	if got, want := k.String(), transcriptFromEmpty(t, bare); got != want {
		t.Errorf("kernel after the rules were dropped (-want +got):\n%s", cmp.Diff(want, got))
	}
	if strings.Contains(k.String(), "nft") {
		t.Errorf("the transcript still holds an nft command:\n%s", k.String())
	}
}
