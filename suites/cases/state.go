package cases

import (
	"fmt"
	"net/netip"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// State is what the model needs to know about a cluster at one point of a
// case: the topology and the policies in force. The runner applies each
// action to the cluster and to a State, so the model's expectation follows
// the cluster step by step.
type State struct {
	Topology *model.Topology
	Policies []*networkingv1.NetworkPolicy
}

// NewState starts from a deep copy of the topology, with no policies.
func NewState(t *model.Topology) *State {
	return &State{Topology: CloneTopology(t)}
}

// StateFor starts the state of a case: its topology, or the default one.
func StateFor(c Case) *State { return NewState(c.TopologyOrDefault()) }

// TopologyOrDefault returns the case's topology, or model.DefaultTopology
// when the case leaves it nil.
func (c Case) TopologyOrDefault() *model.Topology {
	if c.Topology != nil {
		return c.Topology
	}
	return model.DefaultTopology()
}

// Clone returns a deep copy that shares nothing with s.
func (s *State) Clone() *State {
	out := &State{Topology: CloneTopology(s.Topology)}
	for _, p := range s.Policies {
		out.Policies = append(out.Policies, p.DeepCopy())
	}
	return out
}

// Apply changes the state as the action changes the cluster. It fails, and
// leaves the state as it was, when the action does not fit the state: a
// policy created twice, an update or delete of a missing object, a pod or
// namespace that does not exist, a policy naming a pod that has no address.
func (s *State) Apply(a Action) error {
	if a == nil {
		return fmt.Errorf("no action")
	}
	return a.applyTo(s)
}

// SetPodIP records the address the cluster gave a pod, so ipBlock policies
// and the model see the real one.
func (s *State) SetPodIP(ref model.PodRef, ip string) error {
	if _, err := netip.ParseAddr(ip); err != nil {
		return fmt.Errorf("pod %s: IP %q: %w", ref, ip, err)
	}
	i := s.podIndex(ref)
	if i < 0 {
		return fmt.Errorf("set IP of pod %s: no such pod", ref)
	}
	s.Topology.Pods[i].IP = ip
	return nil
}

// freeIP picks the address after the highest pod address in use: a stand-in
// until the runner records the real one with SetPodIP.
func (s *State) freeIP() (string, error) {
	var highest netip.Addr
	for _, p := range s.Topology.Pods {
		a, err := netip.ParseAddr(p.IP)
		if err != nil {
			continue
		}
		if !highest.IsValid() || highest.Less(a) {
			highest = a
		}
	}
	if !highest.IsValid() {
		return "", fmt.Errorf("no pod has an IP to allocate a new one after")
	}
	next := highest.Next()
	if !next.IsValid() {
		return "", fmt.Errorf("no address after %s", highest)
	}
	return next.String(), nil
}

func (s *State) policyIndex(ns, name string) int {
	return slices.IndexFunc(s.Policies, func(p *networkingv1.NetworkPolicy) bool {
		return p.Namespace == ns && p.Name == name
	})
}

func (s *State) podIndex(ref model.PodRef) int {
	return slices.IndexFunc(s.Topology.Pods, func(p model.Pod) bool { return p.Ref() == ref })
}

// CloneTopology returns a deep copy of t.
func CloneTopology(t *model.Topology) *model.Topology {
	if t == nil {
		return nil
	}
	out := &model.Topology{Namespaces: map[string]model.Namespace{}}
	for name, ns := range t.Namespaces {
		out.Namespaces[name] = model.Namespace{Labels: cloneMap(ns.Labels)}
	}
	for _, p := range t.Pods {
		out.Pods = append(out.Pods, clonePod(p))
	}
	for _, n := range t.Nodes {
		out.Nodes = append(out.Nodes, model.Node{Name: n.Name, IPs: slices.Clone(n.IPs)})
	}
	return out
}

func clonePod(p model.Pod) model.Pod {
	p.Labels = cloneMap(p.Labels)
	p.IPs = slices.Clone(p.IPs)
	p.Ports = slices.Clone(p.Ports)
	return p
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
