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

// Kind names the one field of the action that is set, e.g. "CreatePolicy".
// It fails when none or more than one is set.
func (a Action) Kind() (string, error) {
	var set []string
	if a.CreatePolicy != nil {
		set = append(set, "CreatePolicy")
	}
	if a.UpdatePolicy != nil {
		set = append(set, "UpdatePolicy")
	}
	if a.PolicyFromTopology != nil {
		set = append(set, "PolicyFromTopology")
	}
	if a.DeletePolicy != nil {
		set = append(set, "DeletePolicy")
	}
	if a.SetPodLabels != nil {
		set = append(set, "SetPodLabels")
	}
	if a.SetNamespaceLabels != nil {
		set = append(set, "SetNamespaceLabels")
	}
	if a.CreatePod != nil {
		set = append(set, "CreatePod")
	}
	if a.DeletePod != nil {
		set = append(set, "DeletePod")
	}
	if len(set) != 1 {
		return "", fmt.Errorf("action must set exactly one field, has %d %v", len(set), set)
	}
	return set[0], nil
}

// Apply changes the state as the action changes the cluster. It fails, and
// leaves the state as it was, when the action does not fit the state: a
// policy created twice, an update or delete of a missing object, a pod or
// namespace that does not exist.
func (s *State) Apply(a Action) error {
	kind, err := a.Kind()
	if err != nil {
		return err
	}
	switch kind {
	case "CreatePolicy":
		return s.createPolicy(a.CreatePolicy)
	case "UpdatePolicy":
		return s.updatePolicy(a.UpdatePolicy)
	case "PolicyFromTopology":
		np, err := s.PolicyFor(a)
		if err != nil {
			return err
		}
		if s.policyIndex(np.Namespace, np.Name) >= 0 {
			return s.updatePolicy(np)
		}
		return s.createPolicy(np)
	case "DeletePolicy":
		i := s.policyIndex(a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		if i < 0 {
			return fmt.Errorf("delete policy %s/%s: no such policy", a.DeletePolicy.Namespace, a.DeletePolicy.Name)
		}
		s.Policies = slices.Delete(s.Policies, i, i+1)
		return nil
	case "SetPodLabels":
		i := s.podIndex(a.SetPodLabels.Pod)
		if i < 0 {
			return fmt.Errorf("set labels of pod %s: no such pod", a.SetPodLabels.Pod)
		}
		s.Topology.Pods[i].Labels = cloneMap(a.SetPodLabels.Labels)
		return nil
	case "SetNamespaceLabels":
		ns, ok := s.Topology.Namespaces[a.SetNamespaceLabels.Namespace]
		if !ok {
			return fmt.Errorf("set labels of namespace %s: no such namespace", a.SetNamespaceLabels.Namespace)
		}
		ns.Labels = cloneMap(a.SetNamespaceLabels.Labels)
		s.Topology.Namespaces[a.SetNamespaceLabels.Namespace] = ns
		return nil
	case "CreatePod":
		return s.createPod(*a.CreatePod)
	case "DeletePod":
		i := s.podIndex(*a.DeletePod)
		if i < 0 {
			return fmt.Errorf("delete pod %s: no such pod", a.DeletePod)
		}
		s.Topology.Pods = slices.Delete(s.Topology.Pods, i, i+1)
		return nil
	}
	return fmt.Errorf("action %s: not handled", kind)
}

// PolicyFor returns the policy a policy action writes, built against the
// current topology for PolicyFromTopology, and an error for other actions.
func (s *State) PolicyFor(a Action) (*networkingv1.NetworkPolicy, error) {
	switch {
	case a.CreatePolicy != nil:
		return a.CreatePolicy, nil
	case a.UpdatePolicy != nil:
		return a.UpdatePolicy, nil
	case a.PolicyFromTopology != nil:
		np := a.PolicyFromTopology(s.Topology)
		if np == nil {
			return nil, fmt.Errorf("policy from topology: a pod it needs has no IP yet")
		}
		return np, nil
	}
	return nil, fmt.Errorf("action carries no policy")
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

func (s *State) createPolicy(np *networkingv1.NetworkPolicy) error {
	if s.policyIndex(np.Namespace, np.Name) >= 0 {
		return fmt.Errorf("create policy %s/%s: already exists", np.Namespace, np.Name)
	}
	if _, ok := s.Topology.Namespaces[np.Namespace]; !ok {
		return fmt.Errorf("create policy %s/%s: no such namespace", np.Namespace, np.Name)
	}
	s.Policies = append(s.Policies, np.DeepCopy())
	return nil
}

func (s *State) updatePolicy(np *networkingv1.NetworkPolicy) error {
	i := s.policyIndex(np.Namespace, np.Name)
	if i < 0 {
		return fmt.Errorf("update policy %s/%s: no such policy", np.Namespace, np.Name)
	}
	s.Policies[i] = np.DeepCopy()
	return nil
}

func (s *State) createPod(p model.Pod) error {
	if s.podIndex(p.Ref()) >= 0 {
		return fmt.Errorf("create pod %s: already exists", p.Ref())
	}
	if _, ok := s.Topology.Namespaces[p.Namespace]; !ok {
		return fmt.Errorf("create pod %s: no such namespace", p.Ref())
	}
	p = clonePod(p)
	if p.IP == "" {
		ip, err := s.freeIP()
		if err != nil {
			return fmt.Errorf("create pod %s: %w", p.Ref(), err)
		}
		p.IP = ip
	}
	s.Topology.Pods = append(s.Topology.Pods, p)
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
