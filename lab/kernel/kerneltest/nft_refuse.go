package kerneltest

// What the kernel refuses in an nftables table: a NAT statement outside
// a nat chain of the hooks it works in. kernel.Linux learns it when the
// transaction commits, and names the rule; the fake checks it before.

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// natHooks are the hooks of a nat chain each NAT statement may be in, as
// the kernel's validate functions of nft_masq, nft_nat and nft_redir
// allow them.
var natHooks = map[string][]string{
	"masquerade": {"postrouting"},
	"snat":       {"postrouting", "input"},
	"dnat":       {"prerouting", "output"},
	"redirect":   {"prerouting", "output"},
}

// nftRefused returns the error of a table the kernel would refuse whole,
// naming the first rule it refuses as kernel.Linux does, or nil.
func nftRefused(t *state.NFTable) error {
	if t == nil {
		return nil
	}
	for _, ch := range t.Chains {
		for _, r := range ch.Rules {
			hooks, nat := natHooks[r.Action]
			if !nat || (ch.Type == "nat" && slices.Contains(hooks, ch.Hook)) {
				continue
			}
			where := ""
			if r.Origin != "" {
				where = r.Origin + ": "
			}
			return fmt.Errorf("nftables: the kernel refused %srule %q in chain %s, so no rule was changed: %w", where, r.Text(), ch.Name, unix.EOPNOTSUPP)
		}
	}
	return nil
}
