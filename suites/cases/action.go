package cases

import (
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Action is one change to the cluster. Each kind of change is its own type,
// and code that must treat them differently (the model's State here, the
// cluster in suites/runner, YAML in yaml.go) switches on the type, so a case
// is plain data: it can be printed, written to a file and replayed.
//
// The set is closed (applyTo is unexported): every action must mean the same
// thing to the model, to every cluster and in YAML, so a new kind of action
// is added here, with all three, or not at all.
type Action interface {
	// applyTo changes the state as the action changes the cluster, or fails
	// and leaves the state as it was.
	applyTo(s *State) error
}

// CreatePolicy creates a NetworkPolicy, sent as written (no defaulting). Its
// ipBlock CIDRs may name pods instead of addresses (see PodCIDR): they are
// resolved against the pods' addresses when the action is applied.
type CreatePolicy struct {
	Policy *networkingv1.NetworkPolicy
}

// UpdatePolicy replaces an existing NetworkPolicy of the same namespace and
// name; its ipBlock CIDRs may name pods, as CreatePolicy's.
type UpdatePolicy struct {
	Policy *networkingv1.NetworkPolicy
}

// DeletePolicy deletes a NetworkPolicy.
type DeletePolicy struct {
	Namespace string
	Name      string
}

// SetPodLabels replaces the labels of one pod wholesale.
type SetPodLabels struct {
	Pod    model.PodRef
	Labels map[string]string
}

// SetNamespaceLabels replaces the labels of one namespace wholesale; the
// kubernetes.io/metadata.name label stays, as the API server keeps it.
type SetNamespaceLabels struct {
	Namespace string
	Labels    map[string]string
}

// CreatePod adds a pod. Its address is the cluster's choice: the runner
// records it in the State once the pod exists, and State picks a stand-in
// offline.
type CreatePod struct {
	Pod model.Pod
}

// DeletePod removes a pod.
type DeletePod struct {
	Pod model.PodRef
}

func (a CreatePolicy) applyTo(s *State) error {
	if a.Policy == nil {
		return fmt.Errorf("create policy: no policy")
	}
	np, err := s.ResolvePolicy(a.Policy)
	if err != nil {
		return fmt.Errorf("create policy %s: %w", model.PolicyKey(a.Policy), err)
	}
	if s.policyIndex(np.Namespace, np.Name) >= 0 {
		return fmt.Errorf("create policy %s: already exists", model.PolicyKey(np))
	}
	if _, ok := s.Topology.Namespaces[np.Namespace]; !ok {
		return fmt.Errorf("create policy %s: no such namespace", model.PolicyKey(np))
	}
	s.Policies = append(s.Policies, np)
	return nil
}

func (a UpdatePolicy) applyTo(s *State) error {
	if a.Policy == nil {
		return fmt.Errorf("update policy: no policy")
	}
	np, err := s.ResolvePolicy(a.Policy)
	if err != nil {
		return fmt.Errorf("update policy %s: %w", model.PolicyKey(a.Policy), err)
	}
	i := s.policyIndex(np.Namespace, np.Name)
	if i < 0 {
		return fmt.Errorf("update policy %s: no such policy", model.PolicyKey(np))
	}
	s.Policies[i] = np
	return nil
}

func (a DeletePolicy) applyTo(s *State) error {
	i := s.policyIndex(a.Namespace, a.Name)
	if i < 0 {
		return fmt.Errorf("delete policy %s/%s: no such policy", a.Namespace, a.Name)
	}
	s.Policies = slices.Delete(s.Policies, i, i+1)
	return nil
}

func (a SetPodLabels) applyTo(s *State) error {
	i := s.podIndex(a.Pod)
	if i < 0 {
		return fmt.Errorf("set labels of pod %s: no such pod", a.Pod)
	}
	s.Topology.Pods[i].Labels = cloneMap(a.Labels)
	return nil
}

func (a SetNamespaceLabels) applyTo(s *State) error {
	ns, ok := s.Topology.Namespaces[a.Namespace]
	if !ok {
		return fmt.Errorf("set labels of namespace %s: no such namespace", a.Namespace)
	}
	ns.Labels = cloneMap(a.Labels)
	s.Topology.Namespaces[a.Namespace] = ns
	return nil
}

func (a CreatePod) applyTo(s *State) error {
	p := a.Pod
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

func (a DeletePod) applyTo(s *State) error {
	i := s.podIndex(a.Pod)
	if i < 0 {
		return fmt.Errorf("delete pod %s: no such pod", a.Pod)
	}
	s.Topology.Pods = slices.Delete(s.Topology.Pods, i, i+1)
	return nil
}
