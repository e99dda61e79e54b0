package cases

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// scenario is a case with its hand-written expectation: want[i] holds one
// grid per probe of step i (see grid.go). The grids exist to check the model
// independently; the runner never reads them, it asks the model.
type scenario struct {
	Case
	want [][]string
}

// All returns the case library in a stable order: the upstream e2e
// scenarios first (TCP, then UDP, then SCTP), then the cases upstream lacks.
func All() []Case {
	var out []Case
	for _, s := range scenarios() {
		out = append(out, s.Case)
	}
	return out
}

// ByName returns the case with the given name.
func ByName(name string) (Case, error) {
	for _, c := range All() {
		if c.Name == name {
			return c, nil
		}
	}
	return Case{}, fmt.Errorf("no case named %q", name)
}

// scenarios lists every case with its hand tables, in All's order, with
// its labels derived from what it does.
func scenarios() []scenario {
	var out []scenario
	out = append(out, upstreamTCP()...)
	out = append(out, upstreamUDPSCTP()...)
	out = append(out, extraIPBlock()...)
	out = append(out, extraPorts()...)
	out = append(out, extraTypes()...)
	out = append(out, extraLifecycle()...)
	out = append(out, extraSelectors()...)
	out = append(out, extraNode()...)
	for i := range out {
		out[i].Case = WithDerivedFeatures(out[i].Case)
	}
	return out
}

// Port and protocol shorthands for Step.Probes.
func probe(port int32, proto corev1.Protocol) model.PortProtocol {
	return model.PortProtocol{Port: port, Protocol: proto}
}

var (
	tcp80  = probe(80, corev1.ProtocolTCP)
	tcp81  = probe(81, corev1.ProtocolTCP)
	udp80  = probe(80, corev1.ProtocolUDP)
	udp81  = probe(81, corev1.ProtocolUDP)
	sctp80 = probe(80, corev1.ProtocolSCTP)
	sctp81 = probe(81, corev1.ProtocolSCTP)
)

func probes(pp ...model.PortProtocol) []model.PortProtocol { return pp }

// pods returns the default topology cut down to the listed pods ("x/a"),
// each serving only the given ports, with the default port names. The three
// namespaces stay, as upstream creates them all.
func pods(serve []model.PortProtocol, refs ...string) *model.Topology {
	base := model.DefaultTopology()
	out := &model.Topology{Namespaces: base.Namespaces, Nodes: base.Nodes}
	for _, p := range base.Pods {
		if !slices.Contains(refs, p.Ref().String()) {
			continue
		}
		p.Ports = nil
		for _, pp := range serve {
			p.Ports = append(p.Ports, model.ContainerPort{Name: model.DefaultPortName(pp), Port: pp.Port, Protocol: pp.Protocol})
		}
		out.Pods = append(out.Pods, p)
	}
	if len(out.Pods) != len(refs) {
		panic(fmt.Sprintf("pods(%v): some pods are not in the default topology", refs))
	}
	return out
}

// withPorts replaces the container ports of one pod of t.
func withPorts(t *model.Topology, ref string, ports ...model.ContainerPort) *model.Topology {
	for i := range t.Pods {
		if t.Pods[i].Ref().String() == ref {
			t.Pods[i].Ports = ports
			return t
		}
	}
	panic(fmt.Sprintf("withPorts: no pod %s", ref))
}

// containerPort is a named container port.
func containerPort(name string, port int32, proto corev1.Protocol) model.ContainerPort {
	return model.ContainerPort{Name: name, Port: port, Protocol: proto}
}

// Action shorthands.

func create(nps ...*networkingv1.NetworkPolicy) []Action {
	var out []Action
	for _, np := range nps {
		out = append(out, CreatePolicy{Policy: np})
	}
	return out
}

func update(np *networkingv1.NetworkPolicy) Action { return UpdatePolicy{Policy: np} }

func deletePolicy(ns, name string) Action { return DeletePolicy{Namespace: ns, Name: name} }

func setPodLabels(ns, pod string, kv ...string) Action {
	return SetPodLabels{Pod: model.PodRef{Namespace: ns, Name: pod}, Labels: labelsSel(kv...).MatchLabels}
}

func setNamespaceLabels(ns string, kv ...string) Action {
	return SetNamespaceLabels{Namespace: ns, Labels: labelsSel(kv...).MatchLabels}
}

func createPod(p model.Pod) Action { return CreatePod{Pod: p} }

func deletePod(ns, name string) Action {
	return DeletePod{Pod: model.PodRef{Namespace: ns, Name: name}}
}

// actions concatenates action lists.
func actions(parts ...[]Action) []Action {
	var out []Action
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(a Action) []Action { return []Action{a} }

// Clause shorthands.
func clauses(ids ...model.ClauseID) []model.ClauseID { return ids }
