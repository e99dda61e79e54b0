package enforcer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

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
	savePath    string

	// inKernel maps each chain of ours to the hash of the content we last
	// wrote; a zero hash means "exists, content unknown" (found by listing).
	inKernel map[string][sha256.Size]byte
	// lastWritten is the ruleset the kernel holds, for rule counts.
	lastWritten []Chain
}

func newApplier(family IPFamily, backend Backend, prefix string) (*applier, error) {
	iptCmd, restoreCmd, saveCmd := backend.binaries(family)
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
	savePath, err := exec.LookPath(saveCmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", family, err)
	}
	return &applier{family: family, prefix: prefix, ipt: ipt, restorePath: restorePath, savePath: savePath}, nil
}

// ownedChains reads the filter table once (iptables-save) and returns our
// chains with their rule counts.
func (a *applier) ownedChains(ctx context.Context) (map[string]int, error) {
	cmd := exec.CommandContext(ctx, a.savePath, "-t", filterTable)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w: %s", a.family, a.savePath, err, strings.TrimSpace(stderr.String()))
	}
	owned := map[string]int{}
	for line := range strings.Lines(string(out)) {
		if name, ok := strings.CutPrefix(line, ":"+a.prefix); ok {
			name, _, _ = strings.Cut(name, " ")
			owned[a.prefix+name] += 0
		} else if rest, ok := strings.CutPrefix(line, "-A "+a.prefix); ok {
			name, _, _ := strings.Cut(rest, " ")
			owned[a.prefix+name]++
		}
	}
	return owned, nil
}

// apply makes the kernel hold rs in our chains. It writes, in one atomic
// restore, only the chains whose content changed since its last write, plus
// the deletion of stale chains; nothing when nothing changed. With verify it
// first lists the chains, finding leftovers of earlier processes (stale) and
// chains someone deleted (rewritten). It returns whether it wrote.
func (a *applier) apply(ctx context.Context, rs Ruleset, verify bool) (bool, error) {
	if verify || a.inKernel == nil {
		owned, err := a.ownedChains(ctx)
		if err != nil {
			return false, err
		}
		written := map[string]int{}
		for _, c := range a.lastWritten {
			written[c.Name] = len(c.Rules)
		}
		refreshed := map[string][sha256.Size]byte{}
		for name, count := range owned {
			// A chain whose rule count differs from what we wrote was
			// edited by someone else: forget its hash so it is rewritten.
			if n, ok := written[name]; ok && n == count {
				refreshed[name] = a.inKernel[name]
			} else {
				refreshed[name] = [sha256.Size]byte{}
			}
		}
		a.inKernel = refreshed
	}
	desired := map[string][sha256.Size]byte{}
	var changed []Chain
	for _, c := range rs.Chains {
		sum := c.hash()
		desired[c.Name] = sum
		if have, ok := a.inKernel[c.Name]; !ok || have != sum {
			changed = append(changed, c)
		}
	}
	var stale []string
	for name := range a.inKernel {
		if _, ok := desired[name]; !ok {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)

	wrote := false
	if len(changed) > 0 || len(stale) > 0 {
		if err := a.restore(ctx, restorePayload(changed, stale)); err != nil {
			a.inKernel = nil // re-list before the next attempt
			return false, err
		}
		a.inKernel, wrote = desired, true
	}
	a.lastWritten = rs.Chains
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
	rules, err := a.listWithRetry(builtin)
	if err != nil {
		return err
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

// listWithRetry lists a chain, retrying briefly: iptables-nft can fail a
// read while another process commits a transaction ("chain ... is
// incompatible"), and one failed read should not fail a whole sync.
func (a *applier) listWithRetry(chain string) ([]string, error) {
	var err error
	for attempt := range 3 {
		var rules []string
		if rules, err = a.ipt.List(filterTable, chain); err == nil {
			return rules, nil
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return nil, fmt.Errorf("%s: list %s: %w", a.family, chain, err)
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
	owned, err := a.ownedChains(ctx)
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
	a.inKernel = nil
	return nil
}
