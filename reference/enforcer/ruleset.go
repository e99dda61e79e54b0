package enforcer

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Chain is one chain the enforcer owns, with its rules as iptables arguments
// (what follows "-A <name>").
type Chain struct {
	Name  string
	Rules []string
}

// Ruleset is the complete desired state for one IP family.
type Ruleset struct {
	Family IPFamily
	Chains []Chain // the FORWARD and INPUT entry chains first, then per-pod chains by name
}

// ChainNames lists the chains of the ruleset.
func (r Ruleset) ChainNames() []string {
	names := make([]string, len(r.Chains))
	for i, c := range r.Chains {
		names[i] = c.Name
	}
	return names
}

// RuleCount is the number of rules over all chains.
func (r Ruleset) RuleCount() int {
	n := 0
	for _, c := range r.Chains {
		n += len(c.Rules)
	}
	return n
}

// Payload renders iptables-restore input that, applied with --noflush,
// replaces the content of every chain of the ruleset (declaring a chain
// flushes it) and deletes the chains named in stale, touching nothing else.
func (r Ruleset) Payload(stale []string) string {
	return restorePayload(r.Chains, stale)
}

// restorePayload writes the given chains (declared, so flushed, then
// refilled) and deletes the stale ones.
func restorePayload(chains []Chain, stale []string) string {
	var b strings.Builder
	b.WriteString("*filter\n")
	for _, c := range chains {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c.Name)
	}
	// Stale chains are flushed by declaring them, then deleted once no
	// chain of ours (each re-declared, hence flushed) jumps to them any more.
	for _, name := range stale {
		fmt.Fprintf(&b, ":%s - [0:0]\n", name)
	}
	for _, c := range chains {
		for _, rule := range c.Rules {
			b.WriteString("-A ")
			b.WriteString(c.Name)
			b.WriteByte(' ')
			b.WriteString(rule)
			b.WriteByte('\n')
		}
	}
	for _, name := range stale {
		fmt.Fprintf(&b, "-X %s\n", name)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// hash identifies the chain's content.
func (c Chain) hash() [sha256.Size]byte {
	h := sha256.New()
	for _, r := range c.Rules {
		h.Write([]byte(r))
		h.Write([]byte{'\n'})
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// EntryChains returns the names of the chains jumped to from FORWARD and INPUT.
func EntryChains(prefix string) (forward, input string) {
	if prefix == "" {
		prefix = DefaultChainPrefix
	}
	return prefix + "FORWARD", prefix + "INPUT"
}
