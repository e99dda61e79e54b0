package generate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Random cases mix what the combinatorial family keeps apart: several
// policies in several namespaces, several rules, peers and ports each,
// named ports that resolve to different numbers on different pods, and
// a few changes in a row. Each draws from its own random stream (the
// seed's PCG, stream = the case's index), so case i is the same whatever
// the count.

// Label vocabularies: few values, so that selectors often match something.
var (
	podValues  = map[string][]string{"pod": {"a", "b", "c"}, "role": {"web", "db"}}
	nsValues   = map[string][]string{"team": {"blue", "red"}, model.NamespaceNameLabel: {"x", "y", "z"}}
	randomPort = []int32{80, 81, 82}
)

// randomCase is the state of one random case while it is drawn: its
// topology, the policies in force after the steps so far, and the
// dimension labels of what it drew.
type randomCase struct {
	r        *rand.Rand
	topo     *model.Topology
	protos   []corev1.Protocol
	probes   []model.PortProtocol
	tags     map[string]bool
	policies []policyRef // the policies in force
	created  int         // policies created so far, for fresh names
}

// newRandomCase draws case index of seed; it returns the case, what it
// does in a few words, and its dimension labels.
func newRandomCase(seed int64, index int) (cases.Case, string, []string) {
	g := &randomCase{r: rand.New(rand.NewPCG(uint64(seed), uint64(index))), tags: map[string]bool{}}
	g.tag(DimFamily, familyRandom)
	g.buildTopology()

	var steps []cases.Step
	first := cases.Step{Name: "create policies"}
	for range 1 + g.r.IntN(2) {
		first.Actions = append(first.Actions, cases.CreatePolicy{Policy: g.newPolicy()})
	}
	steps = append(steps, first)
	var did []string
	for range g.r.IntN(3) {
		name, actions, what := g.change()
		steps = append(steps, cases.Step{Name: name, Actions: actions})
		did = append(did, what)
	}
	for i := range steps {
		steps[i].Probes = g.probes
	}
	desc := fmt.Sprintf("random, %d %s in %d namespaces", len(first.Actions), plural(len(first.Actions), "policy", "policies"), len(g.topo.Namespaces))
	if len(did) > 0 {
		desc += ", then " + strings.Join(did, ", ")
	}
	return cases.Case{Topology: g.topo, Steps: steps}, desc, ordered(g.tags)
}

// ordered lists dimension labels in the order of Dimensions: dimension by
// dimension, each in the order of its values.
func ordered(tags map[string]bool) []string {
	dims := append([]dimension{{DimFamily, []string{familyCombinatorial, familyRandom}}}, product...)
	var out []string
	for _, d := range dims {
		for _, v := range d.values {
			if tags[label(d.name, v)] {
				out = append(out, label(d.name, v))
			}
		}
	}
	return out
}

// policyRef names a policy in force.
type policyRef struct{ ns, name string }

func (p policyRef) String() string { return p.ns + "/" + p.name }

func (g *randomCase) tag(dim, value string) { g.tags[label(dim, value)] = true }

// buildTopology picks 2 or 3 namespaces of 1 or 2 pods, random labels and
// nodes, 1 or 2 protocols on ports 80-82, and on some pods the name "web"
// for port 80 or 81 of the first protocol: a named port that resolves per
// pod (NP-NAMED).
func (g *randomCase) buildTopology() {
	r := g.r
	all := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	g.protos = all[:1+r.IntN(2)]
	g.probes = probeSet(randomPort, g.protos...)
	for _, p := range g.protos {
		g.tag(DimProtocol, lower(p))
	}

	namespaces := map[string]map[string]string{}
	var pods []podSpec
	for _, ns := range []string{"x", "y", "z"}[:2+r.IntN(2)] {
		namespaces[ns] = g.namespaceLabels(ns)
		for _, name := range []string{"a", "b"}[:1+r.IntN(2)] {
			pods = append(pods, podSpec{ns: ns, name: name, labels: g.podLabels(), node: 1 + r.IntN(2)})
		}
	}
	g.topo = topology(namespaces, pods, g.probes)
	for i := range g.topo.Pods {
		if r.IntN(3) == 0 {
			g.topo.Pods[i].Ports = g.webPorts()
		}
	}
}

// webPorts are the probe ports with port 80 or 81 of the first protocol
// named "web" instead of its default name.
func (g *randomCase) webPorts() []model.ContainerPort {
	ports := containerPorts(g.probes)
	web := model.PortProtocol{Port: 80 + int32(g.r.IntN(2)), Protocol: g.protos[0]}
	for i := range ports {
		if ports[i].Port == web.Port && ports[i].Protocol == web.Protocol {
			ports[i].Name = "web"
		}
	}
	return ports
}

func (g *randomCase) namespaceLabels(ns string) map[string]string {
	labels := map[string]string{"ns": ns}
	if g.r.IntN(3) > 0 {
		labels["team"] = pick(g.r, nsValues["team"])
	}
	return labels
}

func (g *randomCase) podLabels() map[string]string {
	labels := map[string]string{"pod": pick(g.r, podValues["pod"])}
	if g.r.IntN(2) == 0 {
		labels["role"] = pick(g.r, podValues["role"])
	}
	return labels
}

// newPolicy is a fresh policy in a random namespace.
func (g *randomCase) newPolicy() *networkingv1.NetworkPolicy {
	g.created++
	ns := pick(g.r, sortedNamespaces(g.topo))
	name := fmt.Sprintf("p%d", g.created)
	g.policies = append(g.policies, policyRef{ns, name})
	return g.policy(ns, name)
}

// policy is a random policy of that namespace and name: a random target,
// policyTypes, and up to two rules per section it writes.
func (g *randomCase) policy(ns, name string) *networkingv1.NetworkPolicy {
	r := g.r
	types := pick(r, typesValues)
	g.tag(DimTypes, types)
	target, form := g.podSelector()
	g.tag(DimTarget, form)
	// A section policyTypes infer or ignore needs a rule to exist.
	writeIn, writeEg := sections(types)
	egressAtLeast := 0
	if types == typesUnsetWithEgress || types == typesIngressIgnoringEgress {
		egressAtLeast = 1
	}
	var ingress, egress []rule
	if writeIn {
		ingress = g.rules(0)
	}
	if writeEg {
		egress = g.rules(egressAtLeast)
	}
	return newPolicy(ns, name, *target, types, ingress, egress)
}

// rules are atLeast to two rules of one section; none admits nothing.
func (g *randomCase) rules(atLeast int) []rule {
	n := atLeast + g.r.IntN(3-atLeast)
	if n == 0 {
		g.tag(DimPeer, peerNoRule)
	}
	var out []rule
	for range n {
		out = append(out, g.rule())
	}
	return out
}

// rule has up to two peers (none: every remote) and up to two ports
// (none: every port).
func (g *randomCase) rule() rule {
	var out rule
	n := g.r.IntN(3)
	if n == 0 {
		g.tag(DimPeer, peerAny)
	}
	for range n {
		out.peers = append(out.peers, g.peer())
	}
	n = g.r.IntN(3)
	if n == 0 {
		g.tag(DimPort, portAny)
	}
	for range n {
		out.ports = append(out.ports, g.port())
	}
	return out
}

func (g *randomCase) peer() networkingv1.NetworkPolicyPeer {
	kind := pick(g.r, []string{peerPod, peerNamespace, peerPodAndNamespace, peerIPBlock, peerIPBlockExcept})
	g.tag(DimPeer, kind)
	switch kind {
	case peerPod:
		return networkingv1.NetworkPolicyPeer{PodSelector: g.peerSelector()}
	case peerNamespace:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: g.namespaceSelector()}
	case peerPodAndNamespace:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: g.namespaceSelector(), PodSelector: g.peerSelector()}
	case peerIPBlock:
		return ipBlockPeer(hostOf(g.somePod()))
	}
	return ipBlockPeer(wideAround(g.somePod()), hostOf(g.somePod()))
}

// podSelector is a random pod selector and its form.
func (g *randomCase) podSelector() (*metav1.LabelSelector, string) {
	form := pick(g.r, selectorForms)
	key := pick(g.r, []string{"pod", "role"})
	return selector(form, key, g.values(podValues[key])...), form
}

// peerSelector is a random pod selector of a peer, its form tagged.
func (g *randomCase) peerSelector() *metav1.LabelSelector {
	s, form := g.podSelector()
	g.tag(DimSelector, form)
	return s
}

func (g *randomCase) namespaceSelector() *metav1.LabelSelector {
	form := pick(g.r, selectorForms)
	key := pick(g.r, []string{"team", model.NamespaceNameLabel})
	g.tag(DimSelector, form)
	return selector(form, key, g.values(nsValues[key])...)
}

// values are one or two distinct values of a vocabulary.
func (g *randomCase) values(vocabulary []string) []string {
	vs := slices.Clone(vocabulary)
	g.r.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	return vs[:1+g.r.IntN(2)]
}

// port is a random port entry: its protocol is one the case probes, or
// unset (TCP, probed or not).
func (g *randomCase) port() networkingv1.NetworkPolicyPort {
	r := g.r
	var protoField *corev1.Protocol
	proto := corev1.ProtocolTCP
	if r.IntN(4) == 0 {
		g.tag(DimProtocol, protocolUnset)
	} else {
		proto = pick(r, g.protos)
		protoField = protocolPtr(proto)
		g.tag(DimProtocol, lower(proto))
	}
	form := pick(r, []string{portNumber, portNamed, portRange, portProtocolOnly})
	g.tag(DimPort, form)
	start := pick(r, randomPort[:2])
	name := pick(r, []string{model.DefaultPortName(model.PortProtocol{Port: start, Protocol: proto}), "web", "no-such-port"})
	p := portEntry(form, protoField, start, name)
	if form == portRange {
		end := start + int32(r.IntN(int(randomPort[2]-start)+1))
		p.EndPort = &end
	}
	if form == portNumber {
		v := intstr.FromInt32(pick(r, randomPort))
		p.Port = &v
	}
	return p
}

// somePod is a pod of the topology. Changes keep every pod's name (a
// deleted pod is created again in the same step), so the case's topology
// names the pods of every step.
func (g *randomCase) somePod() model.PodRef { return pick(g.r, g.topo.Pods).Ref() }

// change is one more step: a policy updated, deleted or added, a pod or a
// namespace relabelled, or a pod deleted and created again. It returns the
// step's name, actions and what it did, in one word.
func (g *randomCase) change() (string, []cases.Action, string) {
	r := g.r
	action := pick(r, []string{actionUpdate, actionDelete, actionAddPolicy, actionRelabelPod, actionRelabelNamespace, actionRecreatePod})
	if len(g.policies) == 0 && (action == actionUpdate || action == actionDelete) {
		action = actionAddPolicy
	}
	g.tag(DimAction, action)
	switch action {
	case actionUpdate:
		p := pick(r, g.policies)
		return "update " + p.String(), []cases.Action{cases.UpdatePolicy{Policy: g.policy(p.ns, p.name)}}, action
	case actionDelete:
		i := r.IntN(len(g.policies))
		p := g.policies[i]
		g.policies = slices.Delete(g.policies, i, i+1)
		return "delete " + p.String(), []cases.Action{cases.DeletePolicy{Namespace: p.ns, Name: p.name}}, action
	case actionAddPolicy:
		np := g.newPolicy()
		return "create " + model.PolicyKey(np), []cases.Action{cases.CreatePolicy{Policy: np}}, action
	case actionRelabelPod:
		i := r.IntN(len(g.topo.Pods))
		labels := g.podLabels()
		return fmt.Sprintf("relabel %s %s", g.topo.Pods[i].Ref(), labelText(labels)), []cases.Action{cases.SetPodLabels{Pod: g.topo.Pods[i].Ref(), Labels: labels}}, action
	case actionRelabelNamespace:
		ns := pick(r, sortedNamespaces(g.topo))
		labels := g.namespaceLabels(ns)
		return fmt.Sprintf("relabel namespace %s %s", ns, labelText(labels)), []cases.Action{cases.SetNamespaceLabels{Namespace: ns, Labels: labels}}, action
	}
	pod := pick(r, g.topo.Pods)
	again := model.Pod{Namespace: pod.Namespace, Name: pod.Name, Labels: g.podLabels(), Node: fmt.Sprintf("node-%d", 1+r.IntN(2)), Ports: slices.Clone(pod.Ports)}
	return fmt.Sprintf("delete %s and create it again on %s labelled %s", pod.Ref(), again.Node, labelText(again.Labels)),
		[]cases.Action{cases.DeletePod{Pod: pod.Ref()}, cases.CreatePod{Pod: again}}, action
}

// sortedNamespaces are the topology's namespaces by name: map order must
// not reach the random stream.
func sortedNamespaces(t *model.Topology) []string {
	var out []string
	for ns := range t.Namespaces {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// labelText is labels as k=v, sorted, joined by ", ".
func labelText(labels map[string]string) string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ", ")
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
