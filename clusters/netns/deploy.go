package netns

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// maxParallelPods bounds concurrent pod creations (namespace, veth, agent).
const maxParallelPods = 4

// Deploy makes the cluster hold exactly topo's namespaces and pods. Pods
// whose node or container ports differ are recreated; label differences are
// fixed in place. Pod IPs in topo are honoured when free.
func (c *Cluster) Deploy(ctx context.Context, topo *model.Topology) error {
	if topo == nil {
		return errors.New("deploy: no topology")
	}
	current, err := c.Topology(ctx)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	want := map[string]model.Pod{}
	for _, p := range topo.Pods {
		if _, ok := topo.Namespaces[p.Namespace]; !ok {
			return fmt.Errorf("deploy: pod %s: namespace %q is not in the topology", p.Ref(), p.Namespace)
		}
		if p.Node != "" {
			if _, err := c.fabric.NodeByName(p.Node); err != nil {
				return fmt.Errorf("deploy: pod %s: %w", p.Ref(), err)
			}
		}
		want[p.Ref().String()] = p
	}

	// Pods first out, so namespaces can go.
	var toCreate []model.Pod
	for _, have := range current.Pods {
		key := have.Ref().String()
		wanted, ok := want[key]
		switch {
		case !ok || !c.canKeep(have, wanted):
			// Parked, not deleted: CreatePod reuses it if it fits.
			if err := c.parkPod(ctx, have.Ref()); err != nil {
				return fmt.Errorf("deploy: %w", err)
			}
			if ok {
				toCreate = append(toCreate, wanted)
			}
		case !samePorts(have.Ports, wanted.Ports) || !maps.Equal(emptyIfNil(have.Labels), emptyIfNil(wanted.Labels)):
			if err := c.reshapePod(ctx, wanted); err != nil {
				return fmt.Errorf("deploy: %w", err)
			}
		}
		delete(want, key)
	}
	for _, p := range topo.Pods {
		if _, missing := want[p.Ref().String()]; missing {
			toCreate = append(toCreate, p)
		}
	}

	nsAPI := c.client.CoreV1().Namespaces()
	for name := range current.Namespaces {
		if _, keep := topo.Namespaces[name]; !keep {
			// The fake API has no garbage collector: policies go first.
			if err := c.client.NetworkingV1().NetworkPolicies(name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
				return fmt.Errorf("deploy: delete policies of namespace %s: %w", name, err)
			}
			if err := nsAPI.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("deploy: delete namespace %s: %w", name, err)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(topo.Namespaces)) {
		labels := topo.Namespaces[name].Labels
		have, exists := current.Namespaces[name]
		switch {
		case !exists:
			if _, err := nsAPI.Create(ctx, namespaceObject(name, labels), createOpts); err != nil {
				return fmt.Errorf("deploy: create namespace %s: %w", name, err)
			}
		case !maps.Equal(emptyIfNil(have.Labels), emptyIfNil(labels)):
			ns, err := nsAPI.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("deploy: namespace %s: %w", name, err)
			}
			ns.Labels = namespaceLabels(name, labels)
			if _, err := nsAPI.Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("deploy: label namespace %s: %w", name, err)
			}
		}
	}
	return c.createPods(ctx, toCreate)
}

func (c *Cluster) createPods(ctx context.Context, pods []model.Pod) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		limit = make(chan struct{}, maxParallelPods)
	)
	for _, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			limit <- struct{}{}
			defer func() { <-limit }()
			if err := c.CreatePod(ctx, p); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	return nil
}

// canKeep says whether a running pod can stay: same node and an agent that
// serves every port wanted. IPs are wishes, not part of the shape.
func (c *Cluster) canKeep(have, want model.Pod) bool {
	if want.Node != "" && have.Node != want.Node {
		return false
	}
	if have.HostNetwork || want.HostNetwork || !running(have) || !running(want) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rt, ok := c.pods[have.Ref().String()]
	return ok && rt.serves(want)
}

func samePorts(a, b []model.ContainerPort) bool {
	return slices.EqualFunc(a, b, func(x, y model.ContainerPort) bool {
		return x.Name == y.Name && x.Port == y.Port && protocolOrTCP(x.Protocol) == protocolOrTCP(y.Protocol)
	})
}

// reshapePod rewrites a kept pod's labels and declared container ports in
// place (its agent already serves them).
func (c *Cluster) reshapePod(ctx context.Context, want model.Pod) error {
	ref := want.Ref()
	api := c.client.CoreV1().Pods(ref.Namespace)
	pod, err := api.Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("update pod %s: %w", ref, err)
	}
	fresh := podObject(want, string(pod.UID), fabric.Node{Name: pod.Spec.NodeName}, pod.Status.PodIP)
	pod.Labels = fresh.Labels
	pod.Spec.Containers = fresh.Spec.Containers
	if _, err := api.Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update pod %s: %w", ref, err)
	}
	return nil
}

func emptyIfNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
