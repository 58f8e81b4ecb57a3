package state

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultsStatedOnce checks that the planner, the MTU rules it shares
// with validate, the real kernel and the fake take the kernel's defaults
// from this package's table rather than writing them again: a default
// written twice can be changed once, and then the plan and the fake
// disagree about the kernel without a test noticing. It looks for the numbers and addresses of defaults.go as
// literals in the non-test code of those packages (an MTU, a metric, a
// port, lo's or a link-local address, a kernel device's name).
func TestDefaultsStatedOnce(t *testing.T) {
	numbers := map[int]string{
		EthernetMTU: "EthernetMTU", LoopbackMTU: "LoopbackMTU", MinMTU: "MinMTU", MaxMTU: "MaxMTU",
		VXLANOverheadIPv4: "VXLANOverheadIPv4", VXLANOverheadIPv6: "VXLANOverheadIPv6",
		IPv6RouteMetric: "IPv6RouteMetric", VXLANKernelPort: "VXLANKernelPort",
		MaxTapMTU: "MaxTapMTU", IPv6MinMTU: "IPv6MinMTU",
	}
	texts := map[string]string{"127.0.0.1": "LoopbackAddrs", "::1/": "LoopbackAddrs", "fe80": "LinkLocal"}
	for name := range kernelDevices {
		texts[name] = "KernelDevice"
	}
	dirs := []string{"../plan", "../mtu", "../validate", "../kernel", "../kernel/kerneltest"}
	files := 0
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			files++
			path := filepath.Join(dir, e.Name())
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok {
					return true
				}
				switch lit.Kind {
				case token.INT:
					if v, err := strconv.ParseInt(lit.Value, 0, 64); err == nil && !strings.HasPrefix(lit.Value, "0x") {
						if name, ok := numbers[int(v)]; ok {
							t.Errorf("%s: %s: write state.%s", fset.Position(lit.Pos()), lit.Value, name)
						}
					}
				case token.STRING:
					s, _ := strconv.Unquote(lit.Value)
					for text, name := range texts {
						if strings.Contains(strings.ToLower(s), text) {
							t.Errorf("%s: %s: use state.%s", fset.Position(lit.Pos()), lit.Value, name)
							break
						}
					}
				}
				return true
			})
		}
	}
	if files < 10 {
		t.Errorf("read %d files of %v; the test has lost its packages", files, dirs)
	}
}

func TestLinkLocal(t *testing.T) {
	for _, tc := range []struct{ mac, want string }{
		{"02:00:00:00:00:01", "fe80::ff:fe00:1/64"},
		{"52:54:00:12:34:56", "fe80::5054:ff:fe12:3456/64"},
	} {
		mac, err := net.ParseMAC(tc.mac)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := LinkLocal(mac); !ok || got.String() != tc.want {
			t.Errorf("LinkLocal(%s) = %s, %v; want %s", tc.mac, got, ok, tc.want)
		}
	}
	if _, ok := LinkLocal(make(net.HardwareAddr, 20)); ok {
		t.Error("LinkLocal of a 20-byte address: ok, want none")
	}
}
