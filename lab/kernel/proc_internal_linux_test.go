package kernel

import (
	"os"
	"strings"
	"testing"
)

// TestParseStat: the command name may hold spaces and parentheses; the
// fields are counted from the last ')'.
func TestParseStat(t *testing.T) {
	line := "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 95 0 0 0 0 0 0 0 20 0 1 0 123456 2449408 128 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.state != 'S' || st.ppid != 17 || st.sid != 4242 || st.tty != 0 || st.start != 123456 {
		t.Errorf("parseStat = %+v", st)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 2 3", "1 (x) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 5"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) took it", bad)
		}
	}
	// Names of more parentheses and spaces, and a zombie's line.
	rest := " 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654321 1000 100 18446744073709551615\n"
	for _, tc := range []struct {
		line  string
		state byte
	}{
		{"1234 (netlab)" + " S" + rest, 'S'},
		{"1234 (a b) c) d)" + " Z" + rest, 'Z'},
		{"1234 ()) ( ))" + " R" + rest, 'R'},
	} {
		st, err := parseStat([]byte(tc.line))
		if err != nil || st.start != 987654321 || st.state != tc.state {
			t.Errorf("parseStat(%q) = %+v, %v; want start 987654321, state %c", tc.line, st, err, tc.state)
		}
	}
	for _, bad := range []string{"1234 netlab S 1", "1234 (x) S" + strings.Replace(rest, "987654321", "-5", 1)} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) took it", bad)
		}
	}
}

// TestProcStart: this process's own line, as the kernel writes it.
func TestProcStart(t *testing.T) {
	start, state, err := ProcStart(os.Getpid())
	if err != nil || start == 0 || state != 'R' && state != 'S' {
		t.Errorf("ProcStart(self) = %d, %c, %v", start, state, err)
	}
	if _, _, err := ProcStart(-1); err == nil {
		t.Error("ProcStart(-1): no error")
	}
}

// TestScanProcsOwnNamespace: one pass over /proc finds this test among
// the processes of its own namespace, with its start time.
func TestScanProcsOwnNamespace(t *testing.T) {
	h, ok, err := openProc(os.Getpid())
	if !ok || err != nil {
		t.Fatal(err)
	}
	defer h.close()
	id, err := h.netns()
	if err != nil {
		t.Skipf("cannot read this process's namespace: %v", err)
	}
	byNS, err := scanProcs(map[nsID]bool{id: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range byNS[id] {
		if p.Pid == os.Getpid() && p.Start > 0 && len(p.Command) > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("this process (%d) is not among its namespace's %d", os.Getpid(), len(byNS[id]))
	}
}

// BenchmarkScanProcs is the cost of the one pass Observe makes over
// /proc, whatever the number of nodes: a stat of each process's
// namespace, and more only for those of the lab.
func BenchmarkScanProcs(b *testing.B) {
	want := map[nsID]bool{{1, 1}: true} // no process's: the pass alone
	for b.Loop() {
		if _, err := scanProcs(want); err != nil {
			b.Fatal(err)
		}
	}
}
