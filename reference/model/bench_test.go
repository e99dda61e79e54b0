package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benchWorld builds 1,000 pods in 50 namespaces and 1,000 policies: default
// denies, pod and namespace selectors, matchExpressions, port ranges, named
// ports and ipBlocks, 20 of each namespace's policies in a fixed random mix.
func benchWorld() (*Topology, []*networkingv1.NetworkPolicy) {
	r := rand.New(rand.NewPCG(1, 2))
	apps := []string{"web", "api", "db", "cache", "queue", "auth", "search", "billing", "mail", "metrics"}
	tiers := []string{"frontend", "backend", "data"}
	teams := []string{"red", "blue", "green", "gold", "grey"}
	envs := []string{"prod", "staging", "dev"}
	topo := &Topology{Namespaces: map[string]Namespace{}}
	for n := 0; n < 20; n++ {
		topo.Nodes = append(topo.Nodes, Node{Name: fmt.Sprintf("node-%d", n), IPs: []string{fmt.Sprintf("172.18.0.%d", 10+n)}})
	}
	for ns := 0; ns < 50; ns++ {
		name := fmt.Sprintf("ns-%02d", ns)
		topo.Namespaces[name] = Namespace{Labels: map[string]string{"team": teams[ns%5], "env": envs[ns%3]}}
		for p := 0; p < 20; p++ {
			i := ns*20 + p
			topo.Pods = append(topo.Pods, Pod{
				Namespace: name, Name: fmt.Sprintf("pod-%02d", p),
				Labels: map[string]string{"app": apps[p%10], "tier": tiers[p%3], "version": fmt.Sprintf("v%d", p%2)},
				Node:   fmt.Sprintf("node-%d", i%20),
				IP:     fmt.Sprintf("10.%d.%d.%d", 64+i/65536, (i/256)%256, i%256),
				Ports: []ContainerPort{{Name: "http", Port: 80, Protocol: tcp}, {Name: "metrics", Port: 9090, Protocol: tcp},
					{Name: "dns", Port: 53, Protocol: udp}},
			})
		}
	}
	app := func() *metav1.LabelSelector { return labelsSel("app", apps[r.IntN(len(apps))]) }
	var policies []*networkingv1.NetworkPolicy
	for ns := 0; ns < 50; ns++ {
		name := fmt.Sprintf("ns-%02d", ns)
		for k := 0; k < 20; k++ {
			pname := fmt.Sprintf("np-%02d", k)
			var p *networkingv1.NetworkPolicy
			switch r.IntN(20) {
			case 0, 1:
				p = policy(name, pname, all, types(in, out))
			case 2, 3, 4, 5, 6:
				p = policy(name, pname, app(), ingressRule(peers(podPeer(app())), numPort(tcp, 80)))
			case 7, 8, 9:
				p = policy(name, pname, app(), ingressRule(peers(andPeer(app(), labelsSel("team", teams[r.IntN(5)]))), numPort(tcp, 80), numPort(udp, 53)))
			case 10, 11:
				p = policy(name, pname, expr("tier", metav1.LabelSelectorOpIn, "frontend", "backend"),
					ingressRule(peers(nsPeer(expr("env", metav1.LabelSelectorOpNotIn, "dev")), podPeer(expr("version", metav1.LabelSelectorOpExists)))))
			case 12, 13:
				p = policy(name, pname, app(), ingressRule(peers(ipPeer("10.64.0.0/16", fmt.Sprintf("10.64.%d.0/24", r.IntN(4)))), rangePort(tcp, 80, 8080)))
			case 14, 15, 16:
				p = policy(name, pname, app(), types(out), egressRule(peers(nsPeer(labelsSel(NamespaceNameLabel, fmt.Sprintf("ns-%02d", r.IntN(50))))), rangePort(tcp, 8000, 9000)),
					egressRule(peers(nsPeer(all)), numPort(udp, 53)))
			case 17, 18:
				p = policy(name, pname, app(), ingressRule(peers(nsPeer(labelsSel("team", teams[r.IntN(5)]))), namedPort(tcp, "http")))
			default:
				p = policy(name, pname, expr("app", metav1.LabelSelectorOpNotIn, "db", "cache"), types(in, out),
					ingressRule(peers(andPeer(expr("tier", metav1.LabelSelectorOpDoesNotExist), all))), egressRule(nil, protoOnly(udp)))
			}
			policies = append(policies, p)
		}
	}
	return topo, policies
}

// BenchmarkTruthTable: 1,000 pods (1M ordered pairs), 1,000 policies, one port.
func BenchmarkTruthTable(b *testing.B) {
	topo, policies := benchWorld()
	ports := []PortProtocol{{Port: 80, Protocol: tcp}}
	b.ReportAllocs()
	var allowed int
	for b.Loop() {
		table, err := TruthTable(topo, policies, ports)
		if err != nil {
			b.Fatal(err)
		}
		allowed = 0
		for c := range table.All() {
			if c.Allowed == Allowed {
				allowed++
			}
		}
	}
	b.ReportMetric(float64(allowed), "allowed-cells")
}

// TestBenchWorldAgreesWithEvaluate samples the benchmark's world so the
// benchmark measures a table that is right.
func TestBenchWorldAgreesWithEvaluate(t *testing.T) {
	topo, policies := benchWorld()
	pp := PortProtocol{Port: 80, Protocol: tcp}
	table, err := TruthTable(topo, policies, []PortProtocol{pp})
	if err != nil {
		t.Fatal(err)
	}
	pods := table.Pods()
	r := rand.New(rand.NewPCG(3, 4))
	counts := map[Decision]int{}
	for i := 0; i < 2000; i++ {
		from, to := pods[r.IntN(len(pods))], pods[r.IntN(len(pods))]
		tv, _ := table.Verdict(from, to, pp)
		v, err := table.Explain(from, to, pp) // Evaluate's path, without re-parsing 1,000 policies
		if err != nil {
			t.Fatal(err)
		}
		if v.Ingress != tv.Ingress || v.Egress != tv.Egress {
			t.Fatalf("%s -> %s: table %s/%s, Evaluate %s/%s\n%s", from, to, tv.Ingress, tv.Egress, v.Ingress, v.Egress, reasonsText(v))
		}
		counts[v.Allowed]++
	}
	if counts[Allowed] == 0 || counts[Denied] == 0 {
		t.Fatalf("benchmark world is degenerate: %v", counts)
	}
}

// BenchmarkExplain is the baseline for BenchmarkTruthTable: the obvious path
// (every rule of every policy, with reasons) over 1,000 cells of the same
// world. Per-cell cost = ns/op / 1,000, against TruthTable's ns/op / 1,000,000.
func BenchmarkExplain(b *testing.B) {
	topo, policies := benchWorld()
	pp := PortProtocol{Port: 80, Protocol: tcp}
	table, err := TruthTable(topo, policies, []PortProtocol{pp})
	if err != nil {
		b.Fatal(err)
	}
	pods := table.Pods()
	r := rand.New(rand.NewPCG(5, 6))
	type pair struct{ from, to PodRef }
	cells := make([]pair, 1000)
	for i := range cells {
		cells[i] = pair{pods[r.IntN(len(pods))], pods[r.IntN(len(pods))]}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cells {
			if _, err := table.Explain(c.from, c.to, pp); err != nil {
				b.Fatal(err)
			}
		}
	}
}
