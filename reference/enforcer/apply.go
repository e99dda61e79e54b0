package enforcer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os/exec"
	"sort"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

const filterTable = "filter"

// applier writes one family's rulesets. It must be used from the goroutine
// that runs in the target network namespace: every command it execs inherits
// that thread's namespace.
type applier struct {
	family      IPFamily
	prefix      string
	ipt         *iptables.IPTables
	restorePath string

	lastPayload [sha256.Size]byte
	applied     bool            // lastPayload is in the kernel
	known       map[string]bool // our chains as of the last write or listing
}

func newApplier(family IPFamily, backend Backend, prefix string) (*applier, error) {
	iptCmd, restoreCmd := backend.binaries(family)
	proto := iptables.ProtocolIPv4
	if family == IPv6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Path(iptCmd), iptables.Timeout(10))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", family, iptCmd, err)
	}
	restorePath, err := exec.LookPath(restoreCmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", family, err)
	}
	return &applier{family: family, prefix: prefix, ipt: ipt, restorePath: restorePath}, nil
}

// ownedChains lists the filter chains whose names carry our prefix.
func (a *applier) ownedChains() (map[string]bool, error) {
	chains, err := a.ipt.ListChains(filterTable)
	if err != nil {
		return nil, fmt.Errorf("%s: list chains: %w", a.family, err)
	}
	owned := map[string]bool{}
	for _, c := range chains {
		if strings.HasPrefix(c, a.prefix) {
			owned[c] = true
		}
	}
	return owned, nil
}

// apply makes the kernel hold exactly rs in our chains. With verify, it lists
// the chains first (finding stale ones left by an earlier process and
// repairing deletions by others); otherwise it trusts its memory. It writes
// only when the payload changed or something is missing, and returns whether
// it wrote.
func (a *applier) apply(ctx context.Context, rs Ruleset, verify bool) (bool, error) {
	if verify || a.known == nil {
		owned, err := a.ownedChains()
		if err != nil {
			return false, err
		}
		a.known = owned
	}
	desired := map[string]bool{}
	missing := false
	for _, name := range rs.ChainNames() {
		desired[name] = true
		if !a.known[name] {
			missing = true
		}
	}
	var stale []string
	for name := range a.known {
		if !desired[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)

	wrote := false
	payload := rs.Payload(stale)
	sum := sha256.Sum256([]byte(rs.Payload(nil)))
	if !a.applied || sum != a.lastPayload || len(stale) > 0 || missing {
		if err := a.restore(ctx, payload); err != nil {
			a.applied = false
			a.known = nil // re-list before the next attempt
			return false, err
		}
		a.lastPayload, a.applied, a.known, wrote = sum, true, desired, true
	}
	forward, input := EntryChains(a.prefix)
	if err := a.ensureJumpFirst("FORWARD", forward); err != nil {
		return wrote, err
	}
	if err := a.ensureJumpFirst("INPUT", input); err != nil {
		return wrote, err
	}
	return wrote, nil
}

// restore feeds the payload to iptables-restore --noflush: atomic, and
// touching only the chains the payload names.
func (a *applier) restore(ctx context.Context, payload string) error {
	cmd := exec.CommandContext(ctx, a.restorePath, "--noflush", "--wait")
	cmd.Stdin = strings.NewReader(payload)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s --noflush: %w: %s", a.family, a.restorePath, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ensureJumpFirst keeps "-j target" as rule 1 of the builtin chain: it must
// come before anything that ACCEPTs (e.g. kube-proxy's KUBE-FORWARD).
func (a *applier) ensureJumpFirst(builtin, target string) error {
	rules, err := a.ipt.List(filterTable, builtin)
	if err != nil {
		return fmt.Errorf("%s: list %s: %w", a.family, builtin, err)
	}
	want := fmt.Sprintf("-A %s -j %s", builtin, target)
	// rules[0] is the policy line ("-P FORWARD ACCEPT").
	if len(rules) > 1 && rules[1] == want {
		duplicates := 0
		for _, r := range rules[2:] {
			if r == want {
				duplicates++
			}
		}
		if duplicates == 0 {
			return nil
		}
	}
	if err := a.deleteJumps(builtin, target); err != nil {
		return err
	}
	if err := a.ipt.Insert(filterTable, builtin, 1, "-j", target); err != nil {
		return fmt.Errorf("%s: insert jump %s -> %s: %w", a.family, builtin, target, err)
	}
	return nil
}

func (a *applier) deleteJumps(builtin, target string) error {
	for range 100 {
		exists, err := a.ipt.Exists(filterTable, builtin, "-j", target)
		if err != nil {
			// A missing target chain makes -C fail; then no jump can exist.
			if e, ok := err.(*iptables.Error); ok && e.IsNotExist() {
				return nil
			}
			return fmt.Errorf("%s: check jump %s -> %s: %w", a.family, builtin, target, err)
		}
		if !exists {
			return nil
		}
		if err := a.ipt.Delete(filterTable, builtin, "-j", target); err != nil {
			return fmt.Errorf("%s: delete jump %s -> %s: %w", a.family, builtin, target, err)
		}
	}
	return fmt.Errorf("%s: could not remove the jumps %s -> %s", a.family, builtin, target)
}

// removeAll deletes the jumps, then every chain with our prefix, in one
// restore (declaring a chain flushes it, so none still references another).
func (a *applier) removeAll(ctx context.Context) error {
	forward, input := EntryChains(a.prefix)
	if err := a.deleteJumps("FORWARD", forward); err != nil {
		return err
	}
	if err := a.deleteJumps("INPUT", input); err != nil {
		return err
	}
	owned, err := a.ownedChains()
	if err != nil {
		return err
	}
	if len(owned) == 0 {
		return nil
	}
	var names []string
	for name := range owned {
		names = append(names, name)
	}
	sort.Strings(names)
	if err := a.restore(ctx, Ruleset{Family: a.family}.Payload(names)); err != nil {
		return fmt.Errorf("remove chains: %w", err)
	}
	a.known, a.applied = nil, false
	return nil
}
