package docker

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-iptables/iptables"
)

// guardRulesFor lists, per family, the host's filter rules that mention
// bridge and carry the guard's comment, as iptables -S prints them.
func guardRulesFor(t *testing.T, bridge string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for name, proto := range map[string]iptables.Protocol{"ipv4": iptables.ProtocolIPv4, "ipv6": iptables.ProtocolIPv6} {
		ipt, err := iptables.New(iptables.IPFamily(proto))
		if err != nil {
			t.Fatal(err)
		}
		for _, chain := range []string{"FORWARD", "DOCKER-USER"} {
			if ok, _ := ipt.ChainExists("filter", chain); !ok {
				continue
			}
			rules, err := ipt.List("filter", chain)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range rules {
				if strings.Contains(r, "-i "+bridge+" ") && strings.Contains(r, guardComment) {
					got[name] = append(got[name], r)
					// rules[0] is the chain's -P/-N line; guards lead.
					if i != len(got[name]) {
						t.Errorf("%s %s: guard at position %d, want it ahead of other rules: %q", name, chain, i, r)
					}
				}
			}
		}
	}
	return got
}

func needIptables(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("no %s", bin)
		}
	}
}

// TestGuardBridgeRulesReadBack places the guard for a bridge name (no
// interface needs to exist for a rule to name it), reads the host's tables
// back for both families, and checks remove leaves nothing, twice.
func TestGuardBridgeRulesReadBack(t *testing.T) {
	needIptables(t)
	const bridge = "npc-guardtest0"
	remove, err := GuardBridge(bridge)
	if err != nil {
		t.Fatal(err)
	}
	got := guardRulesFor(t, bridge)
	for _, fam := range []string{"ipv4", "ipv6"} {
		if len(got[fam]) != 1 {
			t.Fatalf("%s: want one guard rule, got %q", fam, got[fam])
		}
		r := got[fam][0]
		if !strings.Contains(r, "! -o "+bridge) || !strings.Contains(r, "-j REJECT") {
			t.Errorf("%s: guard %q must reject what leaves through any other interface", fam, r)
		}
	}
	// A second guard of the same bridge (another cluster, test or process)
	// has rules of its own: removing the first leaves it in place.
	remove2, err := GuardBridge(bridge)
	if err != nil {
		t.Fatal(err)
	}
	if got := guardRulesFor(t, bridge); len(got["ipv4"]) != 2 || len(got["ipv6"]) != 2 {
		t.Errorf("two guards: %q, want two rules per family", got)
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if err := remove(); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if got := guardRulesFor(t, bridge); len(got["ipv4"]) != 1 || len(got["ipv6"]) != 1 {
		t.Errorf("after the first guard's remove: %q, want the second guard's rule per family", got)
	}
	if err := remove2(); err != nil {
		t.Fatal(err)
	}
	if got := guardRulesFor(t, bridge); len(got) != 0 {
		t.Errorf("after remove: %q left in the host's tables", got)
	}
}

// TestGuardNetworkBeforeAnyContainer creates a docker network as kind would,
// guards it before any container joins, reads the host's tables back for
// the network's own bridge, removes the guard and the network.
func TestGuardNetworkBeforeAnyContainer(t *testing.T) {
	needIptables(t)
	needEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e, err := Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	const network = "netpolcheck-guard-test"
	if err := EnsureNetwork(ctx, network); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = RemoveNetwork(context.Background(), network) })
	info, err := inspectNetwork(ctx, network)
	if err != nil {
		t.Fatal(err)
	}
	bridge := info.bridge()
	if _, err := os.Stat("/sys/class/net/" + bridge); err != nil {
		t.Fatalf("bridge %s of network %s: %v", bridge, network, err)
	}
	remove, err := Guard(ctx, network)
	if err != nil {
		t.Fatal(err)
	}
	got := guardRulesFor(t, bridge)
	if len(got["ipv4"]) != 1 || len(got["ipv6"]) != 1 {
		t.Errorf("guard for %s: got %q, want one rule per family", bridge, got)
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if got := guardRulesFor(t, bridge); len(got) != 0 {
		t.Errorf("after remove: %q left in the host's tables", got)
	}
}

func TestULASubnetIsAPrivateSlash64(t *testing.T) {
	s := ulaSubnet(KindNetwork)
	if !strings.HasPrefix(s, "fc00:") || !strings.HasSuffix(s, "::/64") {
		t.Errorf("ulaSubnet(%q) = %q, want fc00:…::/64", KindNetwork, s)
	}
	if ulaSubnet("a") == ulaSubnet("b") {
		t.Error("different names, same subnet")
	}
}

// RemoveGuards deletes the guards of the bridges it is given (any run's,
// a kept cluster's included) and nothing else, read back from the host's
// tables. It names its own bridge, so a cluster running on this machine
// keeps its guard.
func TestRemoveGuardsDeletesOnlyGuards(t *testing.T) {
	needIptables(t)
	bridge := "npcrg0"
	if _, err := GuardBridge(bridge); err != nil { // never removed by its own remove
		t.Fatal(err)
	}
	ipt, err := iptables.New()
	if err != nil {
		t.Fatal(err)
	}
	other := []string{"-i", bridge, "-m", "comment", "--comment", "not a guard", "-j", "RETURN"}
	if err := ipt.Insert("filter", "FORWARD", 1, other...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipt.DeleteIfExists("filter", "FORWARD", other...) })
	n, err := RemoveGuards(bridge)
	if err != nil || n == 0 {
		t.Fatalf("RemoveGuards: %d removed, %v; want the guard removed", n, err)
	}
	for _, chain := range []string{"FORWARD", "DOCKER-USER"} {
		rules, _ := ipt.List("filter", chain)
		for _, r := range rules {
			if strings.Contains(r, guardComment) && strings.Contains(r, bridge) {
				t.Errorf("guard left in %s: %s", chain, r)
			}
		}
	}
	if ok, err := ipt.Exists("filter", "FORWARD", other...); err != nil || !ok {
		t.Errorf("a rule that is not a guard was removed too (%v)", err)
	}
}
