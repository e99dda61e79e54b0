package model

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

func TestEvaluateRefusesUnknownPodsAndNamespaces(t *testing.T) {
	xa, xq, wa := ref("x/a"), ref("x/q"), ref("w/a")
	for _, c := range []struct {
		name     string
		traffic  Traffic
		policies []*networkingv1.NetworkPolicy
		want     string
	}{
		{"unknown destination pod", Traffic{From: Endpoint{Pod: &xa}, To: ref("y/q"), Port: 80}, nil, "unknown pod y/q"},
		{"unknown destination namespace", Traffic{From: Endpoint{Pod: &xa}, To: ref("w/b"), Port: 80}, nil, "unknown namespace \"w\""},
		{"unknown source pod", Traffic{From: Endpoint{Pod: &xq}, To: ref("y/b"), Port: 80}, nil, "unknown pod x/q"},
		{"unknown source namespace", Traffic{From: Endpoint{Pod: &wa}, To: ref("y/b"), Port: 80}, nil, "unknown namespace \"w\""},
		{"no source", Traffic{To: ref("y/b"), Port: 80}, nil, "neither a pod nor an IP"},
		{"bad source IP", Traffic{From: Endpoint{IP: "10.0.0.300"}, To: ref("y/b"), Port: 80}, nil, "invalid IP"},
		{"bad protocol", Traffic{From: Endpoint{Pod: &xa}, To: ref("y/b"), Port: 80, Protocol: "ICMP"}, nil, "protocol"},
		{"port 0", Traffic{From: Endpoint{Pod: &xa}, To: ref("y/b")}, nil, "port 0"},
		{"policy in an unknown namespace", Traffic{From: Endpoint{Pod: &xa}, To: ref("y/b"), Port: 80}, ps(policy("w", "p", all)), "policy w/p"},
		{"duplicate policy", Traffic{From: Endpoint{Pod: &xa}, To: ref("y/b"), Port: 80}, ps(policy("y", "p", all), policy("y", "p", all)), "policy y/p"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Evaluate(DefaultTopology(), c.policies, c.traffic)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := TruthTable(DefaultTopology(), ps(policy("w", "p", all)), nil); err == nil || !strings.Contains(err.Error(), "w/p") {
		t.Errorf("TruthTable error %v, want one naming w/p", err)
	}
	table, err := TruthTable(DefaultTopology(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Lookup("x/a", "y/q", PortProtocol{80, tcp}); err == nil || !strings.Contains(err.Error(), "unknown pod y/q") {
		t.Errorf("Lookup of an unknown pod: %v", err)
	}
	if _, err := table.Lookup("x/a", "y/b", PortProtocol{8080, tcp}); err == nil || !strings.Contains(err.Error(), "8080/TCP is not in the table") {
		t.Errorf("Lookup of a port outside the table: %v", err)
	}
}

func TestDefaultTopology(t *testing.T) {
	topo := DefaultTopology()
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := len(topo.Pods); got != 9 {
		t.Fatalf("%d pods, want 9", got)
	}
	if got := topo.PortProtocols(); len(got) != 6 || got[0] != (PortProtocol{80, tcp}) || got[5] != (PortProtocol{81, sct}) {
		t.Errorf("ports %v, want 80 and 81 on TCP, UDP, SCTP", got)
	}
	nodes := map[string]int{}
	ips := map[string]bool{}
	for _, p := range topo.Pods {
		if p.Labels["pod"] != p.Name {
			t.Errorf("%s labelled %v", p.Ref(), p.Labels)
		}
		if len(p.Ports) != 6 || p.Ports[0].Name != "serve-80-tcp" || p.Ports[5].Name != "serve-81-sctp" {
			t.Errorf("%s ports %v", p.Ref(), p.Ports)
		}
		nodes[p.Node]++
		if ips[p.IP] || p.IP == "" {
			t.Errorf("%s has IP %q, empty or shared", p.Ref(), p.IP)
		}
		ips[p.IP] = true
	}
	if len(nodes) != 2 {
		t.Errorf("pods spread over %v, want 2 nodes", nodes)
	}
	// Deterministic: two calls give identical topologies.
	again := DefaultTopology()
	for i := range topo.Pods {
		if topo.Pods[i].IP != again.Pods[i].IP || topo.Pods[i].Node != again.Pods[i].Node {
			t.Fatalf("DefaultTopology is not deterministic at %s", topo.Pods[i].Ref())
		}
	}
}

func TestTableCellOrderIsStable(t *testing.T) {
	topo := DefaultTopology()
	// Shuffle the input order; the table orders pods itself.
	topo.Pods[0], topo.Pods[8] = topo.Pods[8], topo.Pods[0]
	table, err := TruthTable(topo, nil, []PortProtocol{{81, udp}, {80, tcp}})
	if err != nil {
		t.Fatal(err)
	}
	cells := table.Cells()
	want := []string{"x/a x/a 81/UDP", "x/a x/a 80/TCP", "x/a x/b 81/UDP"}
	for i, w := range want {
		if got := cells[i].From.String() + " " + cells[i].To.String() + " " + cells[i].Port.String(); got != w {
			t.Errorf("cell %d = %s, want %s", i, got, w)
		}
	}
	if last := cells[len(cells)-1]; last.From.String() != "z/c" || last.To.String() != "z/c" {
		t.Errorf("last cell %v", last)
	}
}
