package render

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"netlab/lab"
	"netlab/lab/apply"
	"netlab/lab/kernel"
	"netlab/lab/kernel/kerneltest"
	"netlab/lab/labfile"
	"netlab/lab/plan"
	"netlab/lab/reconcile"
	"netlab/lab/state"
	"netlab/lab/validate"
	"netlab/topologies"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

func TestMain(m *testing.M) {
	// Fails the run if the round trip leaves a namespace behind.
	os.Exit(kerneltest.LeakCheck(m).Run())
}

// testLab is a lab the renderers are tested on.
type testLab struct {
	name string // golden file stem
	lab  *lab.Lab
}

func parse(t testing.TB, file string, data []byte) *lab.Lab {
	t.Helper()
	l, diags := labfile.Parse(file, data)
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = diags.WriteText(&b)
		t.Fatalf("%s is not valid:\n%s", file, b.String())
	}
	return l
}

// labs returns every shipped topology and every lab of testdata/labs.
func labs(t testing.TB) []testLab {
	t.Helper()
	var out []testLab
	for _, name := range topologies.Names() {
		data, err := topologies.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testLab{"topology-" + strings.TrimSuffix(name, ".yaml"), parse(t, name, data)})
	}
	files, _ := filepath.Glob("testdata/labs/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testLab{strings.TrimSuffix(filepath.Base(f), ".yaml"), parse(t, f, data)})
	}
	if len(out) < 4 {
		t.Fatalf("found only %d labs to render", len(out))
	}
	return out
}

// bigLab is a generated 50-node lab: a hub with a star of 25 leaves and a
// chain of 24 routers hanging off it.
func bigLab(t testing.TB) *lab.Lab {
	t.Helper()
	var hub, others, links strings.Builder
	subnet := 0
	link := func(a, aif, b, bif string) (string, string) {
		subnet++
		fmt.Fprintf(&links, "  - [%s:%s, %s:%s]\n", a, aif, b, bif)
		return fmt.Sprintf("10.0.%d.1", subnet), fmt.Sprintf("10.0.%d.2", subnet)
	}
	for k := 1; k <= 25; k++ {
		h, leaf := link("hub", fmt.Sprintf("s%d", k), fmt.Sprintf("leaf%d", k), "eth0")
		fmt.Fprintf(&hub, "      s%d: {addresses: [%s/30]}\n", k, h)
		fmt.Fprintf(&others, "  leaf%d:\n    interfaces:\n      eth0: {addresses: [%s/30]}\n    routes: [{to: default, via: %s}]\n", k, leaf, h)
	}
	prev, prevIf := "hub", "c0"
	for k := 1; k <= 24; k++ {
		r := fmt.Sprintf("r%d", k)
		a, b := link(prev, prevIf, r, "up")
		if prev == "hub" {
			fmt.Fprintf(&hub, "      c0: {addresses: [%s/30]}\n", a)
		} else {
			fmt.Fprintf(&others, "      down: {addresses: [%s/30]}\n", a)
		}
		fmt.Fprintf(&others, "  %s:\n    sysctls: {net.ipv4.ip_forward: 1}\n    interfaces:\n      up: {addresses: [%s/30]}\n", r, b)
		prev, prevIf = r, "down"
	}
	text := "name: big50\ndescription: a generated lab of 50 nodes, a star and a chain\nnodes:\n  hub:\n    interfaces:\n" + hub.String() + others.String() + "links:\n" + links.String()
	l := parse(t, "big50.yaml", []byte(text))
	if len(l.Nodes) != 50 {
		t.Fatalf("generated lab has %d nodes, want 50", len(l.Nodes))
	}
	return l
}

// golden compares got with testdata/golden/NAME, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./render -update and read the diff)\n--- got:\n%s", path, got)
	}
}

func TestGolden(t *testing.T) {
	formats := []struct {
		ext string
		fn  func(*lab.Lab) []byte
	}{{"dot", Dot}, {"mermaid", Mermaid}, {"sh", Script}}
	for _, tl := range labs(t) {
		fs := formats
		if len(tl.lab.Machines) > 0 {
			// The SVG of a lab with machines has a golden of its own:
			// the frames and the cross-machine lines are new, and
			// docs/diagrams pins the shipped labs' drawings.
			fs = append(fs[:len(fs):len(fs)], struct {
				ext string
				fn  func(*lab.Lab) []byte
			}{"svg", SVG})
		}
		for _, f := range fs {
			t.Run(tl.name+"."+f.ext, func(t *testing.T) {
				got := f.fn(tl.lab)
				if !bytes.Equal(got, f.fn(tl.lab)) {
					t.Fatal("two renderings of the same lab differ")
				}
				golden(t, tl.name+"."+f.ext, got)
			})
		}
	}
}

// TestDotAccepted feeds the dot output to Graphviz, when it is installed.
func TestDotAccepted(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz dot not installed")
	}
	all := labs(t)
	all = append(all, testLab{"big50", bigLab(t)})
	for _, tl := range all {
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = bytes.NewReader(Dot(tl.lab))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: dot -Tsvg: %v\n%s", tl.name, err, stderr.String())
		}
	}
}

// svgBox is a rectangle of a drawing: a node box or a label's extent.
type svgBox struct {
	what       string
	x, y, w, h float64
}

func (a svgBox) overlaps(b svgBox) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}

// parseSVG reads the node boxes and the text labels of a drawing, each
// label with its extent in the monospace font the drawing names.
func parseSVG(t *testing.T, data []byte) (width, height float64, nodes, labels []svgBox) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	attr := func(se xml.StartElement, name string) string {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	f := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bad number %q in the SVG", s)
		}
		return v
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "svg":
			width, height = f(attr(se, "width")), f(attr(se, "height"))
		case "rect":
			if strings.Contains(" "+attr(se, "class")+" ", " node ") {
				nodes = append(nodes, svgBox{"node", f(attr(se, "x")), f(attr(se, "y")), f(attr(se, "width")), f(attr(se, "height"))})
			}
		case "text":
			size := fontSize
			if s := attr(se, "font-size"); s != "" {
				size = f(s)
			}
			var text string
			if err := dec.DecodeElement(&text, &se); err != nil {
				t.Fatal(err)
			}
			x, y := f(attr(se, "x")), f(attr(se, "y"))
			// The baseline is at y: ascent above, descent below.
			labels = append(labels, svgBox{text, x, y - size*0.8, textWidth(text, size), size})
		}
	}
	return width, height, nodes, labels
}

// checkSVG fails if two node boxes or two labels overlap, or anything
// lies outside the drawing.
func checkSVG(t *testing.T, data []byte) {
	t.Helper()
	width, height, nodes, labels := parseSVG(t, data)
	if len(nodes) == 0 {
		t.Fatal("no node boxes in the SVG")
	}
	for _, set := range [][]svgBox{nodes, labels} {
		for i, a := range set {
			if a.x < 0 || a.y < 0 || a.x+a.w > width || a.y+a.h > height {
				t.Errorf("%s %q at (%.0f,%.0f %.0fx%.0f) lies outside the %.0fx%.0f drawing", a.what, a.what, a.x, a.y, a.w, a.h, width, height)
			}
			for _, b := range set[i+1:] {
				if a.overlaps(b) {
					t.Errorf("%q (%.0f,%.0f %.0fx%.0f) overlaps %q (%.0f,%.0f %.0fx%.0f)", a.what, a.x, a.y, a.w, a.h, b.what, b.x, b.y, b.w, b.h)
				}
			}
		}
	}
	// Every label of a node lies inside its box, or inside no box at all.
	for _, lb := range labels {
		in := 0
		for _, n := range nodes {
			if lb.overlaps(n) {
				if lb.x < n.x || lb.y < n.y || lb.x+lb.w > n.x+n.w || lb.y+lb.h > n.y+n.h {
					t.Errorf("label %q sticks out of a node box", lb.what)
				}
				in++
			}
		}
		if in > 1 {
			t.Errorf("label %q lies over %d node boxes", lb.what, in)
		}
	}
}

func TestSVG(t *testing.T) {
	all := labs(t)
	all = append(all, testLab{"big50", bigLab(t)})
	for _, tl := range all {
		t.Run(tl.name, func(t *testing.T) {
			data := SVG(tl.lab)
			if !bytes.Equal(data, SVG(tl.lab)) {
				t.Fatal("two renderings of the same lab differ")
			}
			if dir := os.Getenv("NETLAB_RENDER_DUMP"); dir != "" {
				// To look at the drawings: NETLAB_RENDER_DUMP=/tmp/svg go test ./render -run TestSVG
				if err := os.WriteFile(filepath.Join(dir, tl.name+".svg"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			checkSVG(t, data)
			_, _, nodes, _ := parseSVG(t, data)
			if len(nodes) != len(tl.lab.Nodes) {
				t.Errorf("%d node boxes for %d nodes", len(nodes), len(tl.lab.Nodes))
			}
		})
	}
}

// TestSVGCatchesOverlap makes sure the overlap check can fail.
func TestSVGCatchesOverlap(t *testing.T) {
	bad := []byte(`<svg width="100" height="100"><rect class="node" x="0" y="0" width="50" height="50"/><rect class="node" x="40" y="40" width="50" height="50"/></svg>`)
	_, _, nodes, _ := parseSVG(t, bad)
	if len(nodes) != 2 || !nodes[0].overlaps(nodes[1]) {
		t.Fatal("overlapping boxes not detected")
	}
}

func TestSVGEscapes(t *testing.T) {
	for _, tl := range labs(t) {
		if tl.name != "names" {
			continue
		}
		data := SVG(tl.lab)
		for _, want := range []string{`we&quot;ird&lt;&amp;&gt;`, `x&quot;y`} {
			if !bytes.Contains(data, []byte(want)) {
				t.Errorf("SVG lacks the escaped name %s", want)
			}
		}
		return
	}
	t.Fatal("testdata/labs/names.yaml missing")
}

func BenchmarkSVG(b *testing.B) {
	l := bigLab(b)
	b.ResetTimer()
	for b.Loop() {
		SVG(l)
	}
}

// TestScriptRoundTrip runs the script of each lab netlab can build in
// throw-away namespaces, then plans the same lab against the kernel: the
// plan must be empty. It runs on the fake kernel, whose Seed interprets
// the script's ip commands (but for labs with nftables rules, which the
// fake cannot read from nft's syntax), and, as root, with bash, ip and
// nft on the real kernel.
func TestScriptRoundTrip(t *testing.T) {
	for _, tl := range labs(t) {
		t.Run(tl.name, func(t *testing.T) {
			for _, n := range tl.lab.Nodes {
				if n.Host {
					t.Skip("a host node would change this machine's own namespace")
				}
			}
			if len(tl.lab.Machines) > 0 {
				roundTripMachines(t, tl.lab)
				return
			}
			roundTripBoth(t, tl.lab)
		})
	}
}

// roundTripBoth is roundTrip on the fake and, as root, on the real
// kernel, each as a parallel subtest.
func roundTripBoth(t *testing.T, l *lab.Lab) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		roundTripFake(t, l)
	})
	t.Run("linux", func(t *testing.T) {
		bash := scriptTools(t)
		// A lab whose needs (802.1Q, netem, ...) this kernel lacks: its
		// script would fail on ip or tc; the fake runs it.
		var needs []kernel.Need
		for _, u := range apply.Needs(l, "") {
			needs = append(needs, u.Need)
		}
		kerneltest.SkipIfLacks(t, needs...)
		t.Parallel()
		roundTrip(t, bash, l)
	})
}

// roundTripFake is roundTrip on the fake kernel: each command of the
// script is run by the fake's interpreter of ip(8), as bash would run
// it, and the plan of the lab against the fake must be empty.
func roundTripFake(t *testing.T, tl *lab.Lab) {
	t.Helper()
	l := *tl
	l.Name = kerneltest.LabName(t)
	script := string(Script(&l))
	if strings.Contains(script, " nft ") {
		t.Skip("the script has nftables rules, which the fake cannot read as nft does: the real kernel's round trip covers them")
	}
	var cmds []string
	for line := range strings.Lines(script) {
		if strings.TrimSpace(line) == "set -euo pipefail" {
			continue // bash's own: stop at the first command that fails, as Seed does
		}
		cmds = append(cmds, line)
	}
	k := kerneltest.NewFake()
	if err := k.Seed(cmds...); err != nil {
		t.Fatalf("%v\nscript:\n%s", err, script)
	}
	planned, err := reconcile.Plan(context.Background(), k, &l, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := planned.Plan; !p.Empty() || len(p.Conflicts) > 0 {
		var b bytes.Buffer
		p.WriteText(&b)
		t.Errorf("after the script, plan is not empty:\n%s\nscript:\n%s", b.String(), script)
	}
}

// scriptTools skips the test unless it can run scripts as root with ip
// and nft, and returns bash's path.
func scriptTools(t *testing.T) string {
	t.Helper()
	kerneltest.RequireRoot(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it)", tool)
		}
	}
	return bash
}

// roundTrip renames the lab to one of the test's own, runs its script and
// requires the plan of the lab against the kernel to be empty.
func roundTrip(t *testing.T, bash string, tl *lab.Lab) {
	t.Helper()
	l := *tl
	l.Name = kerneltest.LabName(t)
	script := filepath.Join(t.TempDir(), "lab.sh")
	if err := os.WriteFile(script, Script(&l), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bash, script).CombinedOutput()
	if err != nil {
		t.Fatalf("bash %s: %v\n%s\n%s", script, err, out, Script(&l))
	}
	k := kernel.NewLinux()
	defer k.Close()
	// The script starts a lab's processes in the background: each is
	// env(1) until it execs the program, with the marker in its
	// environment only then. Plan again for a moment until they have.
	var p *plan.Plan
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		planned, err := reconcile.Plan(context.Background(), k, &l, reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p = planned.Plan
		if p.Empty() || !hasProcesses(&l) || time.Now().After(deadline) {
			break
		}
	}
	if !p.Empty() || len(p.Conflicts) > 0 {
		var b bytes.Buffer
		p.WriteText(&b)
		t.Errorf("after the script, plan is not empty:\n%s\nscript:\n%s", b.String(), Script(&l))
	}
	netnsSysctlsSet(t, &l)
}

// hasProcesses reports whether a node of l runs a process (run:).
func hasProcesses(l *lab.Lab) bool {
	for _, n := range l.Nodes {
		if len(n.Run) > 0 {
			return true
		}
	}
	return false
}

// netnsSysctlsSet checks that every namespace of l holds what NetNSAdd
// sets in a namespace it makes (state.NetNSSysctls), which the plan does
// not compare: a script that left them out rebuilt another lab than up.
func netnsSysctlsSet(t *testing.T, l *lab.Lab) {
	t.Helper()
	for _, n := range l.Nodes {
		for _, sc := range state.NetNSSysctls {
			ns := state.NetNSName(l.Name, n.Name)
			out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-n", sc.Key).CombinedOutput()
			if err != nil {
				t.Fatalf("read %s in %s: %v: %s", sc.Key, ns, err, out)
			}
			if got := strings.TrimSpace(string(out)); got != sc.Value {
				t.Errorf("after the script, %s in %s is %s; up sets %s", sc.Key, ns, got, sc.Value)
			}
		}
	}
}

// TestScriptSaysNetNSSysctls: the script's namespace step sets what
// NetNSAdd sets in a namespace it makes, before anything is made there.
func TestScriptSaysNetNSSysctls(t *testing.T) {
	for _, tl := range labs(t) {
		t.Run(tl.name, func(t *testing.T) {
			script := string(Script(tl.lab))
			for _, n := range tl.lab.Nodes {
				if n.Host {
					continue // the machine's own namespace is not made
				}
				ns := state.NetNSName(tl.lab.Name, n.Name)
				add := strings.Index(script, "ip netns add "+ns+"\n")
				lo := strings.Index(script, "ip -n "+ns+" link set lo ")
				for _, sc := range state.NetNSSysctls {
					set := strings.Index(script, "ip netns exec "+ns+" sysctl -qw "+sc.Key+"="+sc.Value+"\n")
					if add < 0 || set < add || lo < set {
						t.Errorf("the script does not set %s=%s in %s right after making it:\n%s", sc.Key, sc.Value, ns, script)
					}
				}
			}
		})
	}
}

// TestScriptRoundTripLoopback: a lab that lists lo's own 127.0.0.1/8 and
// ::1/128 beside an address of its own is rebuilt by its script. The
// kernel gives lo those addresses when the namespace's lo goes up, so a
// script that added them stopped there ("Address already assigned").
func TestScriptRoundTripLoopback(t *testing.T) {
	l, diags := labfile.Parse("lo.yaml", []byte(`name: lo
nodes:
  a:
    interfaces:
      lo: {addresses: [127.0.0.1/8, "::1/128", 10.255.0.1/32]}
      eth0: {addresses: [10.1.0.1/24]}
  b:
    interfaces:
      eth0: {addresses: [10.1.0.2/24]}
links:
  - [a:eth0, b:eth0]
`))
	diags.Append(validate.Lab(l)...)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if s := string(Script(l)); strings.Contains(s, "127.0.0.1/8") || !strings.Contains(s, "10.255.0.1/32 dev lo") {
		t.Errorf("the script adds lo's own address, or not the lab's:\n%s", s)
	}
	roundTripBoth(t, l)
}

// TestScriptRoundTripGenerated is the round trip over generated labs whose
// interface names and log prefixes are drawn from every byte a lab file may
// hold there: each one validate accepts must be rebuilt exactly by its
// script. NETLAB_SCRIPT_LABS sets how many labs to try (default 12); the
// seed of a failing lab is in its name.
func TestScriptRoundTripGenerated(t *testing.T) {
	bash := scriptTools(t)
	n := 12
	if v := os.Getenv("NETLAB_SCRIPT_LABS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("NETLAB_SCRIPT_LABS=%q: %v", v, err)
		}
	}
	valid := 0
	for seed := range uint64(n) {
		text := genLab(rand.New(rand.NewPCG(seed, 12)))
		l, diags := labfile.Parse("gen.yaml", []byte(text))
		diags.Append(validate.Lab(l)...)
		if diags.HasErrors() {
			continue // validate refuses it: no promise to keep
		}
		valid++
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Logf("lab:\n%s", text)
			roundTrip(t, bash, l)
		})
	}
	if valid < n/4 {
		t.Errorf("only %d of %d generated labs are valid: the generator tests little", valid, n)
	}
}

// genLab writes a lab of two nodes joined by veth pairs, one end of each on
// a bridge, with a route, a masquerade and a logging firewall rule, all
// naming interfaces by random names.
func genLab(r *rand.Rand) string {
	used := map[string]bool{"lo": true}
	name := func() string {
		for {
			s := genName(r)
			if !used[s] {
				used[s] = true
				return s
			}
		}
	}
	js := func(s string) string { // a JSON string is a YAML double-quoted one
		b, _ := json.Marshal(s)
		return string(b)
	}
	br, a1, a2, b1, b2 := name(), name(), name(), name(), name()
	var b strings.Builder
	b.WriteString("name: gen\nnodes:\n  a:\n    sysctls: {net.ipv4.ip_forward: 1}\n    interfaces:\n")
	fmt.Fprintf(&b, "      %s: {kind: bridge, addresses: [10.1.0.1/24]}\n", js(br))
	fmt.Fprintf(&b, "      %s: {master: %s}\n", js(a1), js(br))
	fmt.Fprintf(&b, "      %s: {addresses: [10.2.0.1/24]}\n", js(a2))
	fmt.Fprintf(&b, "    routes:\n      - {to: 10.9.0.0/16, via: 10.2.0.2, dev: %s}\n", js(a2))
	fmt.Fprintf(&b, "    nat:\n      - {action: masquerade, out: %s}\n", js(a2))
	fmt.Fprintf(&b, "    firewall:\n      input:\n        rules:\n          - {action: log, in: %s, prefix: %s}\n", js(br), js(genPrefix(r)))
	fmt.Fprintf(&b, "  b:\n    interfaces:\n      %s: {addresses: [10.1.0.2/24]}\n      %s: {addresses: [10.2.0.2/24]}\n", js(b1), js(b2))
	fmt.Fprintf(&b, "links:\n  - [%s, %s]\n  - [%s, %s]\n", js("a:"+a1), js("b:"+b1), js("a:"+a2), js("b:"+b2))
	return b.String()
}

// nameBytes are what an interface name may hold, with the characters that
// ip, the shell or nft treat specially made likely.
var nameBytes = []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" +
	"!\"#$%&'()*+,-.;<=>?@[\\]^_`{|}~" + "-_.*\\'\"$")

// ipWords are ip keywords and abbreviations of them, which a name must not
// be mistaken for.
var ipWords = []string{"h", "he", "up", "down", "dev", "name", "type", "mtu", "txq", "alias", "master", "nomaster", "peer", "link", "vf", "address", "netns", "help", "-x", "0x"}

func genName(r *rand.Rand) string {
	if r.IntN(4) == 0 {
		return ipWords[r.IntN(len(ipWords))]
	}
	b := make([]byte, 1+r.IntN(15))
	for i := range b {
		b[i] = nameBytes[r.IntN(len(nameBytes))]
	}
	s := string(b)
	if s == "." || s == ".." {
		return "x" + s
	}
	return s
}

// genPrefix is a log prefix of printable ASCII and the odd UTF-8.
func genPrefix(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(30) {
		if r.IntN(20) == 0 {
			b.WriteString("é")
			continue
		}
		b.WriteByte(byte(' ' + r.IntN(95)))
	}
	return b.String()
}
