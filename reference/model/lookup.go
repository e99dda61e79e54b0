package model

import "fmt"

// Pod finds a pod of the topology; the error says whether the namespace or
// the pod is unknown.
func (t *Topology) Pod(ref PodRef) (Pod, error) {
	for _, p := range t.Pods {
		if p.Namespace == ref.Namespace && p.Name == ref.Name {
			return p, nil
		}
	}
	if _, ok := t.Namespaces[ref.Namespace]; !ok {
		return Pod{}, fmt.Errorf("unknown namespace %q (pod %s)", ref.Namespace, ref)
	}
	return Pod{}, fmt.Errorf("unknown pod %s", ref)
}
