package enforcer

import (
	"fmt"
	"strings"
	"testing"
)

func TestGroupPortsRespectsMultiportLimit(t *testing.T) {
	var matches []portMatch
	for i := range 20 {
		matches = append(matches, portMatch{protocol: "tcp", dport: fmt.Sprint(1000 + i)})
	}
	matches = append(matches, portMatch{protocol: "tcp", dport: "2000:2010"}, portMatch{protocol: "udp", dport: "53"})
	got := groupPorts(matches)
	if len(got) != 3 {
		t.Fatalf("NP-PORT: got %d groups, want 3 (15 tcp, 5 tcp + range, udp): %q", len(got), got)
	}
	for _, g := range got {
		slots := 0
		if _, list, ok := strings.Cut(string(g), "--dports "); ok {
			for _, p := range strings.Split(list, ",") {
				slots++
				if strings.Contains(p, ":") {
					slots++
				}
			}
		}
		if slots > maxMultiportSlots {
			t.Errorf("NP-PORT: %q uses %d multiport slots", g, slots)
		}
	}
	if got := groupPorts([]portMatch{{protocol: "tcp", dport: "80"}, anyPort}); len(got) != 1 || got[0] != "" {
		t.Errorf("NP-RULE: any port must swallow the rest, got %q", got)
	}
}
