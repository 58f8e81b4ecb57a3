package kerneltest

// Seed's nft(8) commands: the hand edits of netlab's nftables table that
// the fake can hold (it keeps chains and the tags of rules, not their
// expressions).

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"netlab/lab/state"
)

// handNFT runs, inside ns, one of
//
//	nft delete table inet netlab
//	nft flush table inet netlab
//	nft add rule inet netlab CHAIN counter   (a rule netlab did not write)
//	nft add chain inet netlab CHAIN { type T hook H priority N ; policy P ; }
//
// the last on a chain that exists, whose policy it sets (nft changes
// nothing else of a chain that is there). Like nft, each fails on a table
// or chain that is missing.
func handNFT(ns *fakeNetNS, w words) error {
	verb, _ := w.next()
	object, _ := w.next()
	family, _ := w.next()
	table, _ := w.next()
	if family != "inet" || table != state.NFTableName {
		return fmt.Errorf("nft %s %s: only table inet %s is held by the fake", verb, object, state.NFTableName)
	}
	if ns.nft == nil {
		return fmt.Errorf("nft %s %s: table inet %s: %w", verb, object, table, unix.ENOENT)
	}
	switch verb + " " + object {
	case "delete table":
		ns.nft = nil
		return nil
	case "flush table":
		for _, ch := range ns.nft.Chains {
			ch.Rules = nil
		}
		return nil
	}
	name, _ := w.next()
	ch := ns.nft.Chain(name)
	if ch == nil {
		return fmt.Errorf("nft %s %s %s: %w", verb, object, name, unix.ENOENT)
	}
	switch verb + " " + object {
	case "add rule":
		if strings.Join(w, " ") != "counter" {
			return errors.New("nft add rule: only a bare counter rule is understood")
		}
		ch.Rules = append(ch.Rules, &state.NFRule{Action: "count"})
		return nil
	case "add chain":
		return handNFTChain(ch, strings.Fields(strings.NewReplacer("{", " ", "}", " ", ";", " ").Replace(strings.Join(w, " "))))
	}
	return fmt.Errorf("nft %s %s: not understood", verb, object)
}

// handNFTChain checks a chain spec against the chain there, as nft
// refuses a type, hook or priority that differs (EEXIST), and then sets
// its policy.
func handNFTChain(ch *state.NFChain, spec []string) error {
	policy := ch.Policy
	if len(spec)%2 != 0 {
		return fmt.Errorf("nft add chain %s: %q: %w", ch.Name, strings.Join(spec, " "), unix.EINVAL)
	}
	for i := 0; i+1 < len(spec); i += 2 {
		kw, v := spec[i], spec[i+1]
		var same bool
		switch kw {
		case "type":
			same = v == ch.Type
		case "hook":
			same = v == ch.Hook
		case "priority":
			n, err := strconv.Atoi(v)
			same = err == nil && n == ch.Priority
		case "policy":
			policy, same = v, v == "accept" || v == "drop"
		default:
			return fmt.Errorf("nft add chain: unknown %q", kw)
		}
		if !same {
			return fmt.Errorf("nft add chain %s: %s %s differs from the chain's: %w", ch.Name, kw, v, unix.EEXIST)
		}
	}
	ch.Policy = policy
	return nil
}
