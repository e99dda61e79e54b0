package model

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// fuzzBytes hands out the fuzzer's bytes; past the end it returns zeros, so
// every input, even empty, builds a world.
type fuzzBytes struct {
	data []byte
	pos  int
}

func (f *fuzzBytes) next() int {
	if f.pos >= len(f.data) {
		return 0
	}
	b := f.data[f.pos]
	f.pos++
	return int(b)
}

func (f *fuzzBytes) pick(n int) int { return f.next() % n }

func (f *fuzzBytes) oneOf(s ...string) string { return s[f.pick(len(s))] }

var fuzzNamespaces = []string{"x", "y", "z"}

func (f *fuzzBytes) topology() *Topology {
	topo := &Topology{Namespaces: map[string]Namespace{}, Nodes: []Node{
		{Name: "node-1", IPs: []string{"172.18.0.2"}}, {Name: "node-2", IPs: []string{"172.18.0.3"}}}}
	nns := 1 + f.pick(3)
	for _, ns := range fuzzNamespaces[:nns] {
		l := map[string]string{"ns": ns}
		if f.pick(2) == 0 {
			l["team"] = f.oneOf("red", "blue")
		}
		topo.Namespaces[ns] = Namespace{Labels: l}
	}
	npods := 1 + f.pick(6)
	for i := 0; i < npods; i++ {
		node := 1 + f.pick(2)
		p := Pod{
			Namespace: fuzzNamespaces[f.pick(nns)],
			Name:      fmt.Sprintf("p%d", i),
			Labels:    map[string]string{"pod": f.oneOf("a", "b", "c")},
			Node:      fmt.Sprintf("node-%d", node),
			IP:        fmt.Sprintf("10.0.%d.%d", node, 10+i),
		}
		if f.pick(2) == 0 {
			p.Labels["tier"] = f.oneOf("web", "db")
		}
		switch f.pick(10) {
		case 0:
			p.HostNetwork, p.IP = true, ""
		case 1:
			p.Phase = corev1.PodFailed
		case 2:
			p.Phase, p.IP = corev1.PodPending, ""
		}
		for _, port := range []int32{80, 81} {
			for _, proto := range []corev1.Protocol{tcp, udp} {
				if f.pick(4) != 0 {
					p.Ports = append(p.Ports, ContainerPort{Port: port, Protocol: proto})
				}
			}
		}
		// Named ports point at different numbers on different pods.
		if len(p.Ports) > 0 {
			p.Ports[f.pick(len(p.Ports))].Name = "web"
		}
		if len(p.Ports) > 1 {
			k := f.pick(len(p.Ports))
			if p.Ports[k].Name == "" {
				p.Ports[k].Name = "dns"
			}
		}
		topo.Pods = append(topo.Pods, p)
	}
	return topo
}

func (f *fuzzBytes) selector() *metav1.LabelSelector {
	switch f.pick(6) {
	case 0, 1:
		return &metav1.LabelSelector{}
	case 2:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"pod": f.oneOf("a", "b", "c", "none")}}
	case 3:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"tier": f.oneOf("web", "db")}}
	default:
		ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
		op := ops[f.pick(4)]
		req := metav1.LabelSelectorRequirement{Key: f.oneOf("pod", "tier"), Operator: op}
		if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
			req.Values = []string{f.oneOf("a", "b", "web", "db")}
		}
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req}}
	}
}

func (f *fuzzBytes) nsSelector() *metav1.LabelSelector {
	switch f.pick(4) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceNameLabel: f.oneOf(fuzzNamespaces...)}}
	case 2:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"team": f.oneOf("red", "blue")}}
	default:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "ns", Operator: metav1.LabelSelectorOpNotIn, Values: []string{f.oneOf(fuzzNamespaces...)}}}}
	}
}

func (f *fuzzBytes) peers() []networkingv1.NetworkPolicyPeer {
	switch f.pick(5) {
	case 0:
		return nil
	case 1:
		return []networkingv1.NetworkPolicyPeer{}
	}
	var out []networkingv1.NetworkPolicyPeer
	for n := 1 + f.pick(2); n > 0; n-- {
		switch f.pick(4) {
		case 0:
			out = append(out, podPeer(f.selector()))
		case 1:
			out = append(out, nsPeer(f.nsSelector()))
		case 2:
			out = append(out, andPeer(f.selector(), f.nsSelector()))
		default:
			cidr := f.oneOf("10.0.1.0/24", "10.0.2.0/24", "10.0.0.0/16", "172.18.0.0/16", "0.0.0.0/0")
			var except []string
			switch f.pick(8) {
			case 0:
				// Outside the cidr, or not narrower: Validate must refuse it.
				except = append(except, f.oneOf("10.0.3.0/24", "10.0.0.0/8", cidr))
			case 1, 2, 3:
				except = append(except, fmt.Sprintf("10.0.%d.%d/%d", 1+f.pick(2), 8+f.pick(8), f.oneOf32(30, 31, 32)))
				if cidr == "172.18.0.0/16" {
					except = []string{"172.18.0.2/32"}
				}
				if cidr == "10.0.1.0/24" || cidr == "10.0.2.0/24" {
					except[0] = strings.Replace(except[0], "10.0.2.", cidr[:7], 1)
					except[0] = strings.Replace(except[0], "10.0.1.", cidr[:7], 1)
				}
			}
			out = append(out, ipPeer(cidr, except...))
		}
	}
	return out
}

func (f *fuzzBytes) oneOf32(v ...int) int { return v[f.pick(len(v))] }

func (f *fuzzBytes) ports() []networkingv1.NetworkPolicyPort {
	if f.pick(3) == 0 {
		return nil
	}
	protos := []corev1.Protocol{"", tcp, udp}
	var out []networkingv1.NetworkPolicyPort
	for n := 1 + f.pick(2); n > 0; n-- {
		proto := protos[f.pick(3)]
		switch f.pick(4) {
		case 0:
			out = append(out, numPort(proto, int32(79+f.pick(3))))
		case 1:
			out = append(out, rangePort(proto, int32(79+f.pick(3)), int32(80+f.pick(2))))
		case 2:
			out = append(out, namedPort(proto, f.oneOf("web", "dns")))
		default:
			if proto == "" {
				out = append(out, networkingv1.NetworkPolicyPort{})
			} else {
				out = append(out, protoOnly(proto))
			}
		}
	}
	return out
}

func (f *fuzzBytes) policy(topo *Topology, i int) *networkingv1.NetworkPolicy {
	ns := fuzzNamespaces[f.pick(len(topo.Namespaces))]
	p := policy(ns, fmt.Sprintf("np%d", i), f.selector())
	switch f.pick(4) {
	case 1:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{in}
	case 2:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{out}
	case 3:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{in, out}
	}
	switch f.pick(3) {
	case 1:
		p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
	case 2:
		for n := 1 + f.pick(2); n > 0; n-- {
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: f.peers(), Ports: f.ports()})
		}
	}
	switch f.pick(3) {
	case 1:
		p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
	case 2:
		for n := 1 + f.pick(2); n > 0; n-- {
			p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: f.peers(), Ports: f.ports()})
		}
	}
	return p
}

var fuzzPorts = []PortProtocol{{80, tcp}, {81, tcp}, {80, udp}, {81, udp}, {80, sct}}

func FuzzModel(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{2, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
		{2, 1, 1, 0, 1, 4, 0, 0, 3, 2, 2, 1, 2, 4, 3, 2, 2, 2, 2, 1, 0, 3, 2, 1, 5, 1, 3, 3, 2, 2, 1},
		{1, 3, 1, 5, 0, 2, 1, 0, 7, 4, 4, 4, 4, 3, 1, 0, 2, 3, 3, 0, 2, 0, 3, 1, 4, 2, 2, 3, 1, 1, 9, 2, 2, 1},
		{2, 4, 0, 9, 9, 0, 10, 2, 1, 1, 3, 2, 0, 2, 2, 5, 3, 2, 2, 3, 1, 2, 3, 3, 3, 2, 2, 0, 1, 2, 2, 2, 1, 2, 2, 0},
		[]byte("the quick brown fox jumps over the lazy dog and then some more bytes for policies"),
		[]byte{255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245, 244, 243, 242, 241, 240, 239, 238, 237, 236, 235, 234, 233},
	} {
		f.Add(seed)
	}
	// Random seeds, fixed, so plain go test already explores many shapes.
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 48; i++ {
		seed := make([]byte, 160)
		for j := range seed {
			seed[j] = byte(r.UintN(256))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{data: data}
		topo := fb.topology()
		var policies []*networkingv1.NetworkPolicy
		for i, n := 0, fb.pick(5); i < n; i++ {
			policies = append(policies, fb.policy(topo, i))
		}
		extra := fb.policy(topo, 99)

		// Invalid policies must be refused everywhere, never evaluated; the
		// properties below run on the valid ones.
		valid := policies[:0]
		for _, p := range policies {
			if checkRefused(t, topo, p) {
				valid = append(valid, p)
			}
		}
		policies = valid
		if !checkRefused(t, topo, extra) {
			extra = policy(fuzzNamespaces[0], "fallback", labelsSel("pod", "a"), types(in))
		}
		base := checkedTable(t, topo, policies)

		// A policy that selects no pod changes nothing.
		for i, p := range policies {
			if len(selectedPods(topo, p)) == 0 {
				rest := append(append([]*networkingv1.NetworkPolicy(nil), policies[:i]...), policies[i+1:]...)
				assertSameTable(t, base, checkedTable(t, topo, rest), p)
			}
		}
		nothing := policy(fuzzNamespaces[0], "selects-nothing", labelsSel("pod", "none"), types(in, out))
		assertSameTable(t, base, checkedTable(t, topo, append(policies, nothing)), nothing)

		// Adding a policy removes allowances only in directions it newly isolates.
		more := checkedTable(t, topo, append(policies, extra))
		before := isolation(topo, policies)
		after := isolation(topo, append(policies, extra))
		rank := map[Decision]int{Denied: 0, Undefined: 1, Allowed: 2}
		cells := more.Cells()
		for i, c := range base.Cells() {
			m := cells[i]
			for _, d := range []struct {
				dir     Direction
				pod     PodRef
				was, is Decision
			}{{Ingress, c.To, c.Ingress, m.Ingress}, {Egress, c.From, c.Egress, m.Egress}} {
				if rank[d.is] >= rank[d.was] {
					continue
				}
				key := isoKey{d.pod, d.dir}
				if before[key] || !after[key] {
					t.Fatalf("adding %s lowered %s %s -> %s %s from %s to %s, but it did not newly isolate %s (isolated before: %v, after: %v)",
						PolicyKey(extra), c.From, c.To, c.Port, d.dir, d.was, d.is, d.pod, before[key], after[key])
				}
			}
		}
	})
}

// checkRefused reports whether p is valid; when it is not, it checks that
// TruthTable refuses it with an error naming it.
func checkRefused(t *testing.T, topo *Topology, p *networkingv1.NetworkPolicy) bool {
	t.Helper()
	if Validate(p) == nil {
		return true
	}
	_, err := TruthTable(topo, []*networkingv1.NetworkPolicy{p}, fuzzPorts)
	if err == nil || !strings.Contains(err.Error(), PolicyKey(p)) {
		t.Fatalf("TruthTable on invalid policy %s: error %v, want one naming it", PolicyKey(p), err)
	}
	return false
}

// checkedTable computes the table and checks it against Evaluate and NP-BOTH
// cell by cell.
func checkedTable(t *testing.T, topo *Topology, policies []*networkingv1.NetworkPolicy) *Table {
	t.Helper()
	table, err := TruthTable(topo, policies, fuzzPorts)
	if err != nil {
		t.Fatalf("TruthTable: %v", err)
	}
	for c := range table.All() {
		if c.Allowed != Combine(c.Ingress, c.Egress) {
			t.Fatalf("%s -> %s %s: allowed %s is not ingress %s AND egress %s", c.From, c.To, c.Port, c.Allowed, c.Ingress, c.Egress)
		}
		from := c.From
		v, err := Evaluate(topo, policies, Traffic{From: Endpoint{Pod: &from}, To: c.To, Port: c.Port.Port, Protocol: c.Port.Protocol})
		if err != nil {
			t.Fatalf("Evaluate %s -> %s: %v", c.From, c.To, err)
		}
		if v.Ingress != c.Ingress || v.Egress != c.Egress || v.Allowed != c.Allowed {
			t.Fatalf("%s -> %s %s: TruthTable %s/%s/%s, Evaluate %s/%s/%s\n%s", c.From, c.To, c.Port,
				c.Ingress, c.Egress, c.Allowed, v.Ingress, v.Egress, v.Allowed, reasonsText(v))
		}
		if v.Allowed != Combine(v.Ingress, v.Egress) {
			t.Fatalf("Evaluate %s -> %s: allowed %s is not ingress AND egress", c.From, c.To, v.Allowed)
		}
	}
	return table
}

func assertSameTable(t *testing.T, a, b *Table, p *networkingv1.NetworkPolicy) {
	t.Helper()
	bc := b.Cells()
	for i, c := range a.Cells() {
		if c != bc[i] {
			t.Fatalf("policy %s selects no pod but changes %s -> %s %s: %+v vs %+v", PolicyKey(p), c.From, c.To, c.Port, c, bc[i])
		}
	}
}

type isoKey struct {
	pod PodRef
	dir Direction
}

// selectedPods re-derives NP-ISO's selection independently of the model.
func selectedPods(topo *Topology, p *networkingv1.NetworkPolicy) []PodRef {
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		return nil
	}
	var out []PodRef
	for _, pod := range topo.Pods {
		if pod.Namespace == p.Namespace && !pod.HostNetwork && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, pod.Ref())
		}
	}
	return out
}

func isolation(topo *Topology, policies []*networkingv1.NetworkPolicy) map[isoKey]bool {
	out := map[isoKey]bool{}
	for _, p := range policies {
		ing, eg := EffectivePolicyTypes(p)
		for _, ref := range selectedPods(topo, p) {
			if ing {
				out[isoKey{ref, Ingress}] = true
			}
			if eg {
				out[isoKey{ref, Egress}] = true
			}
		}
	}
	return out
}
