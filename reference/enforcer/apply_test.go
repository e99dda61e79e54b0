package enforcer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

// run executes a command inside a namespace and fails the test on error.
func run(t *testing.T, netnsName string, name string, args ...string) string {
	t.Helper()
	out, err := fabric.Command(context.Background(), netnsName, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), netnsName, err, out)
	}
	return string(out)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJumpIsKeptFirstInForwardAndInput(t *testing.T) {
	c := newTestCluster(t, "h4-it3-", []podSpec{{"x", "a", 0}})
	c.startEnforcers()
	node, _ := c.fab.Node(0)
	t.Cleanup(func() { Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(node.NetNS))) })
	first := func(chain string) string {
		out, err := fabric.Command(context.Background(), node.NetNS, "iptables", "-S", chain).CombinedOutput()
		if err != nil {
			return "" // a concurrent commit; the caller polls again
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) < 2 {
			return ""
		}
		return lines[1]
	}
	// Unchanged state: resyncs (every 500 ms here) verify but do not write.
	sample := `netpolcheck_enforcer_restores_total{family="IPv4",node="node-1"}`
	before := testMetric(t, c.enf[0], sample)
	time.Sleep(1200 * time.Millisecond)
	if after := testMetric(t, c.enf[0], sample); after != before || before == "" {
		t.Fatalf("restores went from %q to %q with nothing changed", before, after)
	}
	if got := testMetric(t, c.enf[0], `netpolcheck_enforcer_rules_rendered{family="IPv4",node="node-1"}`); got == "" || got == "0" {
		t.Fatalf("rules_rendered = %q", got)
	}
	// Someone else inserts an ACCEPT above us, and deletes our INPUT jump.
	run(t, node.NetNS, "iptables", "-I", "FORWARD", "1", "-j", "ACCEPT")
	run(t, node.NetNS, "iptables", "-D", "INPUT", "-j", "NPC-INPUT")
	waitFor(t, "the FORWARD jump back at position 1", func() bool { return first("FORWARD") == "-A FORWARD -j NPC-FORWARD" })
	waitFor(t, "the INPUT jump restored", func() bool { return first("INPUT") == "-A INPUT -j NPC-INPUT" })
	if n := strings.Count(run(t, node.NetNS, "iptables", "-S", "FORWARD"), "-j NPC-FORWARD"); n != 1 {
		t.Fatalf("%d FORWARD jumps, want exactly 1", n)
	}

	// Someone flushes one of our pod chains: the next resync rewrites it.
	c.apply(policy("x", "deny", networkingv1.NetworkPolicySpec{}))
	chain := podChainName(DefaultChainPrefix, "I-", "x/a")
	hasReject := func() bool {
		// Not run(): iptables-nft may fail while a concurrent restore commits.
		out, err := fabric.Command(context.Background(), node.NetNS, "iptables", "-S", chain).CombinedOutput()
		return err == nil && strings.Contains(string(out), "-j REJECT")
	}
	waitFor(t, "x/a's ingress chain", hasReject)
	run(t, node.NetNS, "iptables", "-F", chain)
	waitFor(t, "the flushed chain rewritten by a resync", hasReject)
}

func TestFailedRestoreKeepsOldRulesAndTurnsNotReady(t *testing.T) {
	c := newTestCluster(t, "h4-it4-", []podSpec{{"x", "a", 0}, {"y", "a", 1}})
	c.startEnforcers()
	node, _ := c.fab.Node(0)
	t.Cleanup(func() { Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(node.NetNS))) })
	c.apply(policy("x", "deny", networkingv1.NetworkPolicySpec{}))
	c.expect("NP-ISO deny", []cell{{"y/a", "x/a", 80, "tcp", "rejected"}})

	// A foreign reference to x/a's chain makes deleting it (the next restore)
	// fail: the transaction must leave the old rules in place.
	chain := podChainName(DefaultChainPrefix, "I-", "x/a")
	run(t, node.NetNS, "iptables", "-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", chain)
	c.delete("x", "deny")
	waitFor(t, "readiness false after a failed restore", func() bool { return !c.enf[0].Ready() })
	c.expect("old rules kept after a failed restore", []cell{{"y/a", "x/a", 80, "tcp", "rejected"}})
	if got := testMetric(t, c.enf[0], `netpolcheck_enforcer_syncs_total{node="node-1",result="failure"}`); got == "" || got == "0" {
		t.Fatalf("failure counter = %q, want > 0", got)
	}

	// Once the obstacle is gone, the retry with backoff succeeds.
	run(t, node.NetNS, "iptables", "-D", "OUTPUT", "-p", "udp", "--dport", "9", "-j", chain)
	waitFor(t, "readiness back after the retry", c.enf[0].Ready)
	c.expect("policy deletion applied after retry", []cell{{"y/a", "x/a", 80, "tcp", "connected"}})
	if strings.Contains(run(t, node.NetNS, "iptables-save", "-t", "filter"), chain) {
		t.Fatalf("stale chain %s was not removed", chain)
	}
}

func TestLegacyBackendIsDetectedAndUsed(t *testing.T) {
	c := newTestCluster(t, "h4-it5-", []podSpec{{"x", "a", 0}, {"y", "a", 1}})
	node, _ := c.fab.Node(0)
	// The "host" already has legacy rules: the enforcer must join them.
	run(t, node.NetNS, "iptables-legacy", "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT")
	var detected Backend
	if err := inNetNS(fabric.NetNSPath(node.NetNS), func() error {
		var err error
		detected, err = detectBackend(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if detected != BackendLegacy {
		t.Fatalf("detected %q, want legacy", detected)
	}
	c.startEnforcers()
	c.apply(policy("x", "deny", networkingv1.NetworkPolicySpec{}))
	c.expect("NP-ISO enforced through iptables-legacy", []cell{{"y/a", "x/a", 81, "udp", "rejected"}})
	if !strings.Contains(run(t, node.NetNS, "iptables-legacy-save", "-t", "filter"), "-A FORWARD -j NPC-FORWARD") {
		t.Fatal("rules are not in the legacy backend")
	}
	if strings.Contains(run(t, node.NetNS, "iptables-nft-save", "-t", "filter"), "NPC-") {
		t.Fatal("rules leaked into the nft backend")
	}
	c.stopEnforcers()
	if err := Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(node.NetNS))); err != nil {
		t.Fatal(err)
	}
	for _, save := range []string{"iptables-legacy-save", "ip6tables-legacy-save", "iptables-nft-save", "ip6tables-nft-save"} {
		if out := run(t, node.NetNS, save); strings.Contains(out, "NPC-") {
			t.Fatalf("%s after Cleanup still shows our chains:\n%s", save, out)
		}
	}
}

// TestGoldenPayloadsAreAcceptedByIptables feeds every golden payload to the
// real iptables-restore of both backends in a fresh namespace: what render
// produces must be valid input, not just stable text.
func TestGoldenPayloadsAreAcceptedByIptables(t *testing.T) {
	requireRoot(t)
	goldens, err := filepath.Glob("testdata/*.golden")
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	prefix := "h4-gold-"
	ctx := context.Background()
	fabric.CleanupPrefix(ctx, prefix)
	fab, err := fabric.New(ctx, prefix, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fab.Destroy(context.Background()) })
	node, _ := fab.Node(0)
	for _, path := range goldens {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v4, v6, found := strings.Cut(strings.TrimPrefix(string(text), "# IPv4\n"), "# IPv6\n")
		if !found {
			t.Fatalf("%s: no IPv6 section", path)
		}
		for _, backend := range []Backend{BackendLegacy, BackendNFT} {
			for family, payload := range map[IPFamily]string{IPv4: v4, IPv6: v6} {
				_, restore, _ := backend.binaries(family)
				cmd := fabric.Command(ctx, node.NetNS, restore, "--noflush", "--wait")
				cmd.Stdin = strings.NewReader(payload)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s: %s rejects the %s payload: %v\n%s", path, restore, family, err, out)
				}
			}
			if err := Cleanup(ctx, WithNetNS(fabric.NetNSPath(node.NetNS)), WithBackend(backend)); err != nil {
				t.Fatalf("%s: cleanup %s: %v", path, backend, err)
			}
		}
	}
}
