package reconcile_test

import (
	"os/exec"
	"strings"
	"testing"

	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/reconcile"
	"netlab/lab/state"
)

// nftIn runs nft inside a namespace, as a user would, and returns what
// it printed.
func nftIn(t *testing.T, netns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", netns, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nft %v in %s: %v: %s", args, netns, err, out)
	}
	return string(out)
}

// The real kernel: a trace table planted without the owner flag, as a
// user would with nft, is no drift; plan removes it, up removes it, and
// a live trace's table is left alone.
func TestPlanAndUpSweepTraceTablesOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	t.Parallel()
	name := kerneltest.LabName(t)
	l := parse(t, strings.Replace(pairLab, "name: pair", "name: "+name, 1))
	k := kernel.NewLinux()
	defer k.Close()
	defer func() {
		if _, err := reconcile.Down(ctx, k, name, reconcile.DownOptions{}); err != nil {
			t.Errorf("down: %v", err)
		}
	}()
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	a, b := state.NetNSName(name, "a"), state.NetNSName(name, "b")
	live, err := k.TraceStart(ctx, []string{a}, kernel.TraceMatch{Proto: "icmp", Port: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	liveTable := ""
	for _, line := range strings.Split(nftIn(t, a, "list", "tables"), "\n") {
		if strings.Contains(line, kernel.TraceTablePrefix) {
			liveTable = line
		}
	}
	if liveTable == "" {
		t.Fatal("no live trace table")
	}
	nftIn(t, a, "add", "table", "inet", "netlab_trace_x")

	planned, err := reconcile.Plan(ctx, k, l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !planned.Plan.Empty() {
		t.Errorf("plan with a trace table left behind:\n%v", planned.Plan)
	}
	tables := nftIn(t, a, "list", "tables")
	if strings.Contains(tables, "netlab_trace_x") {
		t.Errorf("plan left netlab_trace_x:\n%s", tables)
	}
	if !strings.Contains(tables, liveTable) {
		t.Errorf("plan removed the live trace's table %q:\n%s", liveTable, tables)
	}

	nftIn(t, b, "add", "table", "inet", "netlab_trace_x")
	if _, err := reconcile.Up(ctx, k, l, reconcile.Options{}); err != nil {
		t.Fatal(err)
	}
	if tables := nftIn(t, b, "list", "tables"); strings.Contains(tables, "netlab_trace_x") {
		t.Errorf("up left netlab_trace_x in b:\n%s", tables)
	}
}
