package model

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Small builders so clause tables read like the YAML they stand for.

func policy(ns, name string, selected *metav1.LabelSelector, mutate ...func(*networkingv1.NetworkPolicySpec)) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if selected != nil {
		p.Spec.PodSelector = *selected
	}
	for _, m := range mutate {
		m(&p.Spec)
	}
	return p
}

func labelsSel(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for i := 0; i+1 < len(kv); i += 2 {
		if s.MatchLabels == nil {
			s.MatchLabels = map[string]string{}
		}
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func types(ts ...networkingv1.PolicyType) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) { s.PolicyTypes = ts }
}

func ingressRule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		s.Ingress = append(s.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports})
	}
}

func egressRule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		s.Egress = append(s.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
	}
}

func peers(ps ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer { return ps }

func podPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: sel}
}

func nsPeer(sel *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: sel}
}

func andPeer(pods, nss *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: pods, NamespaceSelector: nss}
}

func ipPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func protoPtr(p corev1.Protocol) *corev1.Protocol { return &p }

// numPort is {protocol, port}; protocol "" leaves it unset (TCP by default).
func numPort(proto corev1.Protocol, port int32) networkingv1.NetworkPolicyPort {
	pp := networkingv1.NetworkPolicyPort{}
	if proto != "" {
		pp.Protocol = protoPtr(proto)
	}
	v := intstr.FromInt32(port)
	pp.Port = &v
	return pp
}

func rangePort(proto corev1.Protocol, port, end int32) networkingv1.NetworkPolicyPort {
	pp := numPort(proto, port)
	pp.EndPort = &end
	return pp
}

func namedPort(proto corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	pp := networkingv1.NetworkPolicyPort{}
	if proto != "" {
		pp.Protocol = protoPtr(proto)
	}
	v := intstr.FromString(name)
	pp.Port = &v
	return pp
}

func protoOnly(proto corev1.Protocol) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: protoPtr(proto)}
}

func ref(s string) PodRef {
	r, err := ParsePodRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

// cellCase is one row of a clause table: a cell and the decisions it must get.
type cellCase struct {
	name     string
	topo     *Topology // nil: DefaultTopology
	policies []*networkingv1.NetworkPolicy
	from     string // "ns/pod", or an IP
	to       string
	port     int32
	proto    corev1.Protocol // "" means TCP
	ingress  Decision
	egress   Decision
	// clause must appear among the reasons (for the direction that decides,
	// when only one is given it is searched in every reason).
	clause ClauseID
	// text, when set, must appear in some reason's text.
	text string
}

func (c cellCase) traffic() Traffic {
	t := Traffic{To: ref(c.to), Port: c.port, Protocol: c.proto}
	if strings.Contains(c.from, "/") {
		r := ref(c.from)
		t.From.Pod = &r
	} else {
		t.From.IP = c.from
	}
	if t.Port == 0 {
		t.Port = 80
	}
	if t.Protocol == "" {
		t.Protocol = corev1.ProtocolTCP
	}
	return t
}

// runCells checks every case with Evaluate and, for pod sources, checks the
// compiled TruthTable gives the same decisions.
func runCells(t *testing.T, cases []cellCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topo := c.topo
			if topo == nil {
				topo = DefaultTopology()
			}
			tr := c.traffic()
			v, err := Evaluate(topo, c.policies, tr)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if v.Ingress != c.ingress || v.Egress != c.egress {
				t.Errorf("ingress %s egress %s, want ingress %s egress %s\n%s", v.Ingress, v.Egress, c.ingress, c.egress, reasonsText(v))
			}
			if want := Combine(c.ingress, c.egress); v.Allowed != want {
				t.Errorf("allowed %s, want %s", v.Allowed, want)
			}
			if c.clause != "" && !hasClause(v, c.clause) {
				t.Errorf("reasons do not cite %s:\n%s", c.clause, reasonsText(v))
			}
			if c.text != "" && !strings.Contains(reasonsText(v), c.text) {
				t.Errorf("reasons do not say %q:\n%s", c.text, reasonsText(v))
			}
			if tr.From.Pod == nil {
				return
			}
			pp := PortProtocol{Port: tr.Port, Protocol: tr.Protocol}
			table, err := TruthTable(topo, c.policies, []PortProtocol{pp})
			if err != nil {
				t.Fatalf("TruthTable: %v", err)
			}
			tv, err := table.Verdict(*tr.From.Pod, tr.To, pp)
			if err != nil {
				t.Fatalf("table lookup: %v", err)
			}
			if tv.Ingress != v.Ingress || tv.Egress != v.Egress || tv.Allowed != v.Allowed {
				t.Errorf("TruthTable says %s/%s/%s, Evaluate %s/%s/%s", tv.Ingress, tv.Egress, tv.Allowed, v.Ingress, v.Egress, v.Allowed)
			}
		})
	}
}

func hasClause(v Verdict, id ClauseID) bool {
	for _, r := range v.Reasons {
		if r.Clause == id {
			return true
		}
	}
	return false
}

func reasonsText(v Verdict) string {
	var b strings.Builder
	for _, r := range v.Reasons {
		b.WriteString("  " + string(r.Direction) + " " + string(r.Clause) + " " + r.Policy + ": " + r.Text + "\n")
	}
	return b.String()
}

// expectInvalid checks that Validate, Evaluate and TruthTable all refuse a
// policy, naming it and the offending field.
func expectInvalid(t *testing.T, p *networkingv1.NetworkPolicy, field string) {
	t.Helper()
	err := Validate(p)
	if err == nil {
		t.Fatalf("Validate accepted an invalid policy")
	}
	if !strings.Contains(err.Error(), PolicyKey(p)) || !strings.Contains(err.Error(), field) {
		t.Errorf("error %q does not name policy %s and field %s", err, PolicyKey(p), field)
	}
	a := ref("x/a")
	if _, err := Evaluate(DefaultTopology(), []*networkingv1.NetworkPolicy{p}, Traffic{From: Endpoint{Pod: &a}, To: ref("y/b"), Port: 80, Protocol: "TCP"}); err == nil || !strings.Contains(err.Error(), PolicyKey(p)) {
		t.Errorf("Evaluate error %v does not name policy %s", err, PolicyKey(p))
	}
	if _, err := TruthTable(DefaultTopology(), []*networkingv1.NetworkPolicy{p}, nil); err == nil || !strings.Contains(err.Error(), PolicyKey(p)) {
		t.Errorf("TruthTable error %v does not name policy %s", err, PolicyKey(p))
	}
}
