package render

import (
	"os"
	"os/exec"
	"testing"

	"netlab/lab/kernel/kerneltest"
)

// TestScriptRoundTripRulesOnLinux is the script round trip of the lab of
// rules and tables on the real kernel with bash and ip alone: it has no
// nftables rules, so it needs no nft, which TestScriptRoundTrip's real
// half does (and skips without). netlab's plan after the script must be
// empty: ip rule add ... proto 78 and ip route ... table N make what up
// makes.
func TestScriptRoundTripRulesOnLinux(t *testing.T) {
	kerneltest.RequireRoot(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip not installed")
	}
	t.Parallel()
	data, err := os.ReadFile("testdata/labs/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, bash, parse(t, "policy.yaml", data))
}
