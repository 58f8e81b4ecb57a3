package apply_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"netlab/lab/apply"
	"netlab/lab/rundir"
	"netlab/lab/state"
)

// TestRecordRefusesHostileNames feeds names that could lead out of the run
// directory to the record functions: each is refused, and nothing is made
// inside the directory or beside it.
func TestRecordRefusesHostileNames(t *testing.T) {
	base := t.TempDir()
	dir := rundir.At(filepath.Join(base, "run", "netlab"))
	for _, bad := range []string{"", "../../x", "../../tmp/x", "a/b", "a b", "HX", "a\nb", "a.b", strings.Repeat("a", 13)} {
		if err := apply.SaveRecord(dir, state.New(bad)); err == nil {
			t.Errorf("SaveRecord of lab %q succeeded", bad)
		}
		if s := apply.LoadRecord(dir, bad); s != nil {
			t.Errorf("LoadRecord of lab %q returned a record", bad)
		}
		if err := apply.DeleteRecord(dir, bad); err == nil {
			t.Errorf("DeleteRecord of lab %q succeeded", bad)
		}
	}
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Errorf("made %v beside a refused name", entries)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := rundir.At(t.TempDir())
	s := state.New("lab1")
	s.Nodes["a"] = state.NewNode("a", state.NetNSName("lab1", "a"))
	if err := apply.SaveRecord(dir, s); err != nil {
		t.Fatal(err)
	}
	got := apply.LoadRecord(dir, "lab1")
	if got == nil || got.Nodes["a"] == nil {
		t.Fatalf("LoadRecord = %+v, want the saved state", got)
	}
	if apply.LoadRecord(dir, "lab2") != nil {
		t.Error("LoadRecord of another lab returned a record")
	}
	if err := apply.DeleteRecord(dir, "lab1"); err != nil {
		t.Fatal(err)
	}
	if apply.LoadRecord(dir, "lab1") != nil {
		t.Error("LoadRecord after DeleteRecord returned a record")
	}
}

// TestRecordKeepsHostsByDigest: a record holds a node's hosts file by its
// digest, not its text (every node's file lists every node), leaves the
// desired state it was given alone, and its links decode to the same
// links, zero fields and empty lists included.
func TestRecordKeepsHostsByDigest(t *testing.T) {
	dir := rundir.At(t.TempDir())
	s := state.New("lab1")
	n := state.NewNode("a", state.NetNSName("lab1", "a"))
	content := state.HostsHeader + "test\n10.0.0.1 a\n"
	n.Hosts = &state.HostsFile{Content: content}
	n.Links["eth0"] = &state.Link{Name: "eth0", Kind: "veth", Peer: "b:eth0", Up: true, Addrs: []netip.Prefix{}}
	n.Links["br0"] = &state.Link{Name: "br0", Kind: "bridge", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}, DefaultMTU: 1500}
	s.Nodes["a"] = n
	if err := apply.SaveRecord(dir, s); err != nil {
		t.Fatal(err)
	}
	if n.Hosts.Content != content || n.Hosts.Digest != "" {
		t.Errorf("SaveRecord changed the desired hosts file to %+v", n.Hosts)
	}
	data, err := os.ReadFile(filepath.Join(dir.Path(), "lab1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "10.0.0.1 a") {
		t.Errorf("the record holds the hosts file's text: %s", data)
	}
	got := apply.LoadRecord(dir, "lab1")
	if got == nil {
		t.Fatal("no record")
	}
	h := got.Nodes["a"].Hosts
	if h == nil || h.Content != "" || !h.Holds(content) || h.Holds(content+"10.0.0.2 b\n") {
		t.Errorf("recorded hosts file %+v does not hold exactly the saved content", h)
	}
	for name, want := range n.Links {
		if !reflect.DeepEqual(got.Nodes["a"].Links[name], want) {
			t.Errorf("link %s decodes to %+v, want %+v", name, got.Nodes["a"].Links[name], want)
		}
	}
}
