package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/netpolcheck/netpolcheck/clusters/images"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// podReadyTimeout bounds the wait for a new pod to serve its ports: image
// already on the node, so mostly sandbox and network set-up.
const podReadyTimeout = 2 * time.Minute

// Deploy makes the run hold exactly topo's namespaces and pods. A pod whose
// node, ports and host networking still fit keeps running and only has its
// labels set; others are replaced.
func (c *Cluster) Deploy(ctx context.Context, topo *model.Topology) error {
	have, err := c.Topology(ctx)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(topo.Namespaces)) {
		if err := c.ensureNamespace(ctx, name, topo.Namespaces[name].Labels); err != nil {
			return err
		}
	}
	wanted := map[model.PodRef]model.Pod{}
	for _, p := range topo.Pods {
		wanted[p.Ref()] = p
	}
	var create []model.Pod
	for _, p := range have.Pods {
		w, ok := wanted[p.Ref()]
		switch {
		case !ok, w.Node != "" && w.Node != p.Node, w.HostNetwork != p.HostNetwork, !samePorts(w.Ports, p.Ports), running(w) != running(p):
			if err := c.DeletePod(ctx, p.Ref()); err != nil {
				return err
			}
		default:
			delete(wanted, p.Ref())
			if !maps.Equal(w.Labels, p.Labels) && !(len(w.Labels) == 0 && len(p.Labels) == 0) {
				if err := c.setPodLabels(ctx, p.Ref(), w.Labels); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range topo.Pods {
		if _, missing := wanted[p.Ref()]; missing {
			create = append(create, p)
		}
	}
	for name := range have.Namespaces {
		if _, ok := topo.Namespaces[name]; !ok && name != SystemNamespace {
			if err := c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete namespace %s: %w", name, err)
			}
		}
	}
	for _, p := range create {
		if err := c.createPod(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range create {
		if err := c.waitServing(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// CreatePod creates one probe pod and waits until it serves its ports.
func (c *Cluster) CreatePod(ctx context.Context, pod model.Pod) error {
	if err := c.createPod(ctx, pod); err != nil {
		return err
	}
	return c.waitServing(ctx, pod)
}

// DeletePod deletes a pod at once and waits until it is gone.
func (c *Cluster) DeletePod(ctx context.Context, ref model.PodRef) error {
	api := c.client.CoreV1().Pods(ref.Namespace)
	if err := api.Delete(ctx, ref.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		return fmt.Errorf("delete pod %s: %w", ref, err)
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, podReadyTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := api.Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, nil
	})
}

func (c *Cluster) setPodLabels(ctx context.Context, ref model.PodRef, labels map[string]string) error {
	api := c.client.CoreV1().Pods(ref.Namespace)
	p, err := api.Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("label pod %s: %w", ref, err)
	}
	p.Labels = maps.Clone(labels)
	if _, err := api.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("label pod %s: %w", ref, err)
	}
	return nil
}

func (c *Cluster) createPod(ctx context.Context, pod model.Pod) error {
	if !running(pod) {
		return fmt.Errorf("create pod %s: phase %s: only running pods can be made on a real cluster", pod.Ref(), pod.Phase)
	}
	node, err := c.realNode(pod.Node)
	if err != nil {
		return fmt.Errorf("create pod %s: %w", pod.Ref(), err)
	}
	obj := c.probePod(pod.Namespace, pod.Name, pod.Ref().String(), node, pod.HostNetwork, pod.Labels, declared(pod))
	if _, err := c.client.CoreV1().Pods(pod.Namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod %s: %w", pod.Ref(), err)
	}
	return nil
}

// probePod is a pod of the probe image that serves ports with identity,
// pinned to node (nodeName bypasses the scheduler and its taints).
func (c *Cluster) probePod(namespace, name, identity, node string, hostNetwork bool, labels map[string]string, ports []model.ContainerPort) *corev1.Pod {
	ctr := images.ProbeContainer(c.cfg.ProbeImage, c.cfg.RawSCTP)
	ctr.Ports = nil
	var numbers, protocols []string
	for _, p := range ports {
		ctr.Ports = append(ctr.Ports, corev1.ContainerPort{Name: p.Name, ContainerPort: p.Port, Protocol: p.Protocol})
		if n := strconv.Itoa(int(p.Port)); !slices.Contains(numbers, n) {
			numbers = append(numbers, n)
		}
		if proto := strings.ToLower(string(p.Protocol)); !slices.Contains(protocols, proto) {
			protocols = append(protocols, proto)
		}
	}
	ctr.Args = []string{"--identity", identity, "--ports", strings.Join(numbers, ","), "--protocols", strings.Join(protocols, ",")}
	if hostNetwork {
		// Other servers share the node's stack: an SCTP INIT for a port
		// this agent does not serve is someone else's.
		ctr.Args = append(ctr.Args, "--sctp-no-abort")
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: maps.Clone(labels)},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostNetwork:                   hostNetwork,
			Containers:                    []corev1.Container{ctr},
			SecurityContext:               images.ProbePodSecurityContext(),
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			AutomountServiceAccountToken:  ptr.To(false),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
	if hostNetwork {
		// The unprivileged-port sysctl is per network namespace: the
		// node's is not the pod's to set.
		pod.Spec.SecurityContext = nil
		ctr.SecurityContext.RunAsNonRoot, ctr.SecurityContext.RunAsUser, ctr.SecurityContext.RunAsGroup = ptr.To(false), ptr.To[int64](0), ptr.To[int64](0)
		ctr.SecurityContext.Capabilities.Add = append(ctr.SecurityContext.Capabilities.Add, "NET_BIND_SERVICE")
		pod.Spec.Containers[0] = ctr
	}
	return pod
}

// waitServing waits until the pod runs with an IP and answers itself on
// every declared port with its identity, as a kubelet's readiness would if
// it knew about UDP and SCTP.
func (c *Cluster) waitServing(ctx context.Context, pod model.Pod) error {
	ref := pod.Ref()
	var ip string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, podReadyTimeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.client.CoreV1().Pods(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return false, fmt.Errorf("pod %s ended (%s)", ref, p.Status.Phase)
		}
		ip = p.Status.PodIP
		return p.Status.Phase == corev1.PodRunning && ip != "", nil
	})
	if err != nil {
		return fmt.Errorf("pod %s did not run within %s: %w", ref, podReadyTimeout, err)
	}
	return c.waitAnswers(ctx, ref.String(), ref.String(), ip, declared(pod))
}

// waitAnswers probes ip on every port from source until each answers with
// identity.
func (c *Cluster) waitAnswers(ctx context.Context, source, identity, ip string, ports []model.ContainerPort) error {
	var probes []agent.Probe
	for i, p := range ports {
		probes = append(probes, agent.Probe{
			ID: strconv.Itoa(i), To: net.JoinHostPort(ip, strconv.Itoa(int(p.Port))),
			Protocol: string(p.Protocol), Timeout: time.Second, Expect: identity,
		})
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, podReadyTimeout, true, func(ctx context.Context) (bool, error) {
		results, err := c.prober.ProbeBatch(ctx, source, probes)
		if err != nil {
			last = err
			return false, nil
		}
		for _, r := range results {
			if r.Outcome != agent.Connected {
				last = fmt.Errorf("%s %s answered %s %s", r.To, r.Protocol, r.Outcome, r.Error)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%s does not serve its ports: %w", identity, errors.Join(err, last))
	}
	return nil
}

// startNodeAgents runs a hostNetwork agent on every mapped node, serving
// matrix.NodeProbePort with the node's source name.
func (c *Cluster) startNodeAgents(ctx context.Context) error {
	ports := []model.ContainerPort{{Name: "node-probe", Port: matrix.NodeProbePort, Protocol: corev1.ProtocolTCP}}
	for name, real := range c.nodes {
		pod := c.probePod(SystemNamespace, nodeAgentPod(name), matrix.NodeSource(name), real, true, map[string]string{"app": "netpolcheck-node-agent"}, ports)
		_, err := c.client.CoreV1().Pods(SystemNamespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("node agent on %s: %w", real, err)
		}
	}
	for name := range c.nodes {
		ip, err := c.waitRunning(ctx, SystemNamespace, nodeAgentPod(name))
		if err != nil {
			return fmt.Errorf("node agent on %s: %w", name, err)
		}
		if err := c.waitAnswers(ctx, matrix.NodeSource(name), matrix.NodeSource(name), ip, ports); err != nil {
			return err
		}
	}
	return nil
}

func nodeAgentPod(node string) string { return "node-agent-" + node }

func (c *Cluster) waitRunning(ctx context.Context, namespace, name string) (string, error) {
	var ip string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, podReadyTimeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ip = p.Status.PodIP
		return p.Status.Phase == corev1.PodRunning && ip != "", nil
	})
	return ip, err
}

func declared(pod model.Pod) []model.ContainerPort {
	out := slices.Clone(pod.Ports)
	for i := range out {
		if out[i].Protocol == "" {
			out[i].Protocol = corev1.ProtocolTCP
		}
	}
	return out
}

func samePorts(a, b []model.ContainerPort) bool {
	return slices.Equal(declared(model.Pod{Ports: a}), declared(model.Pod{Ports: b}))
}

func running(p model.Pod) bool { return p.Phase == "" || p.Phase == corev1.PodRunning }
