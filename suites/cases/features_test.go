package cases

import (
	"sort"
	"testing"
)

// TestEveryRequiredFeatureHasCases: the library must cover each area the
// issues ask for; the counts are logged for the report (go test -v).
func TestEveryRequiredFeatureHasCases(t *testing.T) {
	counts := map[string]int{}
	for _, c := range All() {
		for _, f := range c.Features {
			counts[f]++
		}
	}
	required := []string{
		"upstream", "tcp", "udp", "sctp", "ingress", "egress", "default-deny", "allow-all",
		"pod-selector", "namespace-selector", "match-expressions", "ports", "named-port", "end-port",
		"ipblock", "except", "protocol-isolation", "policy-types", "multiple-policies",
		"update", "delete", "pod-relabel", "namespace-relabel", "create-pod", "delete-pod",
	}
	for _, f := range required {
		if counts[f] == 0 {
			t.Errorf("no case has feature %q", f)
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-20s %3d", k, counts[k])
	}
	t.Logf("%-20s %3d", "cases", len(All()))
}
