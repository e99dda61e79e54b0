package generate

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// The combinatorial family: one policy x/gen on the small topology, built
// from one combo, then the combo's action. Target selectors aim at pod=a,
// peer selectors at pod=b, Exists and DoesNotExist at the label role that
// only some pods carry, namespace selectors at x or y depending on the
// form, so that the selected pods differ from form to form.

// policyName is the family's policy, in namespace x.
const policyName = "gen"

var (
	xa = model.PodRef{Namespace: "x", Name: "a"}
	ya = model.PodRef{Namespace: "y", Name: "a"}
	yb = model.PodRef{Namespace: "y", Name: "b"}
)

// combinatorialCase builds the case of one combo and says in a few words
// what it does; the caller names and labels it.
func combinatorialCase(c combo) (cases.Case, string) {
	proto, protoField := corev1.ProtocolTCP, (*corev1.Protocol)(nil)
	switch c.protocol {
	case protocolTCP:
		protoField = protocolPtr(corev1.ProtocolTCP)
	case protocolUDP:
		proto = corev1.ProtocolUDP
		protoField = protocolPtr(proto)
	case protocolSCTP:
		proto = corev1.ProtocolSCTP
		protoField = protocolPtr(proto)
	}
	// The ports the policy concerns and one outside, on its protocol, and
	// port 80 on another protocol, which a port entry must keep out.
	other := corev1.ProtocolUDP
	if proto != corev1.ProtocolTCP {
		other = corev1.ProtocolTCP
	}
	ports := []int32{80, 81}
	if c.port == portRange {
		ports = append(ports, 82) // 80-81, then 81-82 after an update
	}
	probes := append(probeSet(ports, proto), model.PortProtocol{Port: 80, Protocol: other})
	model.SortPorts(probes)

	target := *podSelector(c.target, "a")
	r := rule{peers: comboPeers(c.peer, c.selector)}
	if c.port != "" && c.port != portAny {
		r.ports = []networkingv1.NetworkPolicyPort{portEntry(c.port, protoField, 80, model.DefaultPortName(model.PortProtocol{Port: 80, Protocol: proto}))}
	}
	rules := []rule{r}
	if c.peer == peerNoRule {
		rules = nil
	}
	np := newPolicy("x", policyName, target, c.types, rules, rules)
	steps := []cases.Step{{Name: "create x/" + policyName, Actions: []cases.Action{cases.CreatePolicy{Policy: np}}, Probes: probes}}
	then := func(name string, actions ...cases.Action) {
		steps = append(steps, cases.Step{Name: name, Actions: actions, Probes: probes})
	}
	switch c.action {
	case actionUpdate:
		moved, what := move(c, rules, protoField, proto, other)
		then("update x/"+policyName+": "+what, cases.UpdatePolicy{Policy: newPolicy("x", policyName, target, c.types, moved, moved)})
	case actionDelete:
		then("delete x/"+policyName, cases.DeletePolicy{Namespace: "x", Name: policyName})
	case actionRelabelPod:
		then("relabel x/a pod=b", cases.SetPodLabels{Pod: xa, Labels: map[string]string{"pod": "b"}})
	case actionRelabelNamespace:
		then("label namespace y team=blue", cases.SetNamespaceLabels{Namespace: "y", Labels: map[string]string{"ns": "y", "team": "blue"}})
	case actionRecreatePod:
		// Deleted, then created again elsewhere with other labels and the
		// address the cluster picks: an enforcer must not keep what it knew
		// of the old pod.
		then("delete y/b", cases.DeletePod{Pod: yb})
		pod := model.Pod{Namespace: "y", Name: "b", Labels: map[string]string{"pod": "a", "role": "web"}, Node: "node-2", Ports: containerPorts(probes)}
		then("create y/b again on node-2 labelled pod=a, role=web", cases.CreatePod{Pod: pod})
	case actionAddPolicy:
		deny := &networkingv1.NetworkPolicy{
			TypeMeta:   np.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: policyName + "-deny"},
			Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: directions(c.types)},
		}
		then("add x/"+policyName+"-deny isolating every pod of x", cases.CreatePolicy{Policy: deny})
	}
	return cases.Case{Topology: topology(smallNamespaces, smallPods, probes), Steps: steps}, describe(c)
}

// podSelector is a pod selector of a form aimed at pod=value (In also
// lists a value no pod has); Exists and DoesNotExist test the role label,
// which only some pods carry.
func podSelector(form, value string) *metav1.LabelSelector {
	if form == formExists || form == formDoesNotExist {
		return selector(form, "role")
	}
	return selector(form, "pod", value, "c")
}

// comboPeers writes the peers of a peer kind with selectors of one form.
func comboPeers(kind, form string) []networkingv1.NetworkPolicyPeer {
	pods := func() *metav1.LabelSelector { return podSelector(form, "b") }
	namespaces := func() *metav1.LabelSelector {
		switch form {
		case formMatchLabels:
			return selector(form, "team", "blue")
		case formExists, formDoesNotExist:
			return selector(form, "team")
		}
		return selector(form, model.NamespaceNameLabel, "y")
	}
	switch kind {
	case peerPod:
		return []networkingv1.NetworkPolicyPeer{{PodSelector: pods()}}
	case peerNamespace:
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: namespaces()}}
	case peerPodAndNamespace:
		return []networkingv1.NetworkPolicyPeer{{NamespaceSelector: namespaces(), PodSelector: pods()}}
	case peerTwoPeers:
		return []networkingv1.NetworkPolicyPeer{{PodSelector: pods()}, {NamespaceSelector: namespaces()}}
	case peerIPBlock:
		return []networkingv1.NetworkPolicyPeer{ipBlockPeer(hostOf(yb))}
	case peerIPBlockExcept:
		return []networkingv1.NetworkPolicyPeer{ipBlockPeer(wideAround(xa), hostOf(ya))}
	}
	return nil // any: a rule without peers
}

// move is the update of the family: the rule's port moves (80 becomes 81,
// a range 81-82, a protocol another), or a direction without rules gets
// one that admits everything. It says what moved.
func move(c combo, rules []rule, protoField *corev1.Protocol, proto, other corev1.Protocol) ([]rule, string) {
	if len(rules) == 0 {
		return []rule{{}}, "a rule now admits everything"
	}
	r := rules[0]
	switch c.port {
	case portAny:
		r.ports = []networkingv1.NetworkPolicyPort{portEntry(portNumber, protoField, 81, "")}
		return []rule{r}, "the rule now names port 81"
	case portProtocolOnly:
		r.ports = []networkingv1.NetworkPolicyPort{portEntry(portProtocolOnly, protocolPtr(other), 0, "")}
		return []rule{r}, "the protocol becomes " + string(other)
	}
	name := model.DefaultPortName(model.PortProtocol{Port: 81, Protocol: proto})
	r.ports = []networkingv1.NetworkPolicyPort{portEntry(c.port, protoField, 81, name)}
	what := map[string]string{portNumber: "the port becomes 81", portNamed: "the named port becomes " + name, portRange: "the range becomes 81-82"}[c.port]
	return []rule{r}, what
}

// describe says in a few words what a combo's case does, for its name.
func describe(c combo) string {
	peer := c.peer
	if c.selector != "" {
		peer += " (" + c.selector + ")"
	}
	s := fmt.Sprintf("%s policy, target %s, peer %s, port %s %s", c.types, c.target, peer, c.port, c.protocol)
	if c.port == "" {
		s = fmt.Sprintf("%s policy, target %s, peer %s, %s", c.types, c.target, peer, c.protocol)
	}
	if c.action != actionNone {
		s += ", then " + c.action
	}
	return s
}
