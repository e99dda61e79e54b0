package runner

import (
	"context"
	"fmt"
	"maps"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// apply makes one action happen on the cluster, through its API as a user
// would, or through the provider for pods, and on the state that tracks what
// the case implies. The state goes first: an action that does not fit the
// case's own state (a policy created twice, a missing pod) is the case's
// mistake and reaches no cluster. Policies go to the cluster as the state
// resolved them: pods named in ipBlocks (cases.PodCIDR) become the
// addresses the cluster gave them.
func apply(ctx context.Context, c clusters.Cluster, state *cases.State, a cases.Action) error {
	if err := state.Apply(a); err != nil {
		return fmt.Errorf("the case's action does not fit its own state: %w", err)
	}
	switch a := a.(type) {
	case cases.CreatePolicy:
		np, err := state.ResolvePolicy(a.Policy)
		if err != nil {
			return err
		}
		return createPolicy(ctx, c, np)
	case cases.UpdatePolicy:
		np, err := state.ResolvePolicy(a.Policy)
		if err != nil {
			return err
		}
		return updatePolicy(ctx, c, np)
	case cases.DeletePolicy:
		if err := c.Client().NetworkingV1().NetworkPolicies(a.Namespace).Delete(ctx, a.Name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("delete policy %s/%s: %w", a.Namespace, a.Name, err)
		}
		return nil
	case cases.SetPodLabels:
		return setPodLabels(ctx, c, a.Pod, a.Labels)
	case cases.SetNamespaceLabels:
		return setNamespaceLabels(ctx, c, a.Namespace, a.Labels)
	case cases.CreatePod:
		if err := c.CreatePod(ctx, a.Pod); err != nil {
			return err
		}
		// The cluster chose the new pod's address (and node, if the case
		// named none).
		ref := a.Pod.Ref()
		return adoptClusterFacts(ctx, c, state, &ref)
	case cases.DeletePod:
		return c.DeletePod(ctx, a.Pod)
	}
	return fmt.Errorf("action %T: not supported by the runner", a)
}

func createPolicy(ctx context.Context, c clusters.Cluster, np *networkingv1.NetworkPolicy) error {
	if _, err := c.Client().NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np.DeepCopy(), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create policy %s/%s: %w", np.Namespace, np.Name, err)
	}
	return nil
}

func updatePolicy(ctx context.Context, c clusters.Cluster, np *networkingv1.NetworkPolicy) error {
	api := c.Client().NetworkingV1().NetworkPolicies(np.Namespace)
	current, err := api.Get(ctx, np.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("update policy %s/%s: %w", np.Namespace, np.Name, err)
	}
	next := np.DeepCopy()
	next.ResourceVersion = current.ResourceVersion
	next.UID = current.UID
	if _, err := api.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update policy %s/%s: %w", np.Namespace, np.Name, err)
	}
	return nil
}

func setPodLabels(ctx context.Context, c clusters.Cluster, ref model.PodRef, labels map[string]string) error {
	api := c.Client().CoreV1().Pods(ref.Namespace)
	pod, err := api.Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("set labels of pod %s: %w", ref, err)
	}
	pod.Labels = maps.Clone(labels)
	if _, err := api.Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set labels of pod %s: %w", ref, err)
	}
	return nil
}

// setNamespaceLabels replaces the labels but keeps the name label the API
// server always sets.
func setNamespaceLabels(ctx context.Context, c clusters.Cluster, name string, labels map[string]string) error {
	api := c.Client().CoreV1().Namespaces()
	ns, err := api.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("set labels of namespace %s: %w", name, err)
	}
	ns.Labels = maps.Clone(labels)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[model.NamespaceNameLabel] = name
	if _, err := api.Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set labels of namespace %s: %w", name, err)
	}
	return nil
}

// policies lists every NetworkPolicy of the cluster, as stored.
func policies(ctx context.Context, c clusters.Cluster) ([]*networkingv1.NetworkPolicy, error) {
	list, err := c.Client().NetworkingV1().NetworkPolicies(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	out := make([]*networkingv1.NetworkPolicy, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// deleteAllPolicies removes every NetworkPolicy of the cluster.
func deleteAllPolicies(ctx context.Context, c clusters.Cluster) error {
	nps, err := policies(ctx, c)
	if err != nil {
		return err
	}
	for _, np := range nps {
		err := c.Client().NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete policy %s/%s: %w", np.Namespace, np.Name, err)
		}
	}
	return nil
}
