package netns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// agentReadyTimeout bounds how long a new pod's agent may take to serve.
const agentReadyTimeout = 10 * time.Second

// podRuntime is what a pod is made of on this host: its namespace and the
// agent process inside it.
type podRuntime struct {
	ref model.PodRef
	// identity is what the agent answers with: the pod's namespace/name, or
	// a node agent's source name.
	identity string
	// netns is the pod's own namespace; nil for a hostNetwork pod, which
	// lives in its node's namespace.
	netns  *fabric.PodNS
	node   fabric.Node
	ip     netip.Addr
	uid    string
	served []model.PortProtocol // what the agent listens on
	socket string
	agent  *exec.Cmd
	exited chan struct{}
}

// serves says whether the agent listens on every port the pod declares.
func (p *podRuntime) serves(pod model.Pod) bool {
	for _, cp := range pod.Ports {
		if !slices.Contains(p.served, model.PortProtocol{Port: cp.Port, Protocol: protocolOrTCP(cp.Protocol)}) {
			return false
		}
	}
	return true
}

// alive says whether the agent still runs.
func (p *podRuntime) alive() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *podRuntime) stopAgent() {
	if p.agent == nil || p.agent.Process == nil {
		return
	}
	// The agent holds no state worth a graceful stop.
	_ = p.agent.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// CreatePod gives the pod a namespace on its node, starts its agent, waits
// until the agent serves every port, and only then publishes the pod in the
// API as Running with its IP, as a kubelet would.
func (c *Cluster) CreatePod(ctx context.Context, pod model.Pod) error {
	ref := pod.Ref()
	if _, err := c.client.CoreV1().Namespaces().Get(ctx, pod.Namespace, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("create pod %s: namespace: %w", ref, err)
	}
	node, err := c.nodeFor(pod)
	if err != nil {
		return fmt.Errorf("create pod %s: %w", ref, err)
	}
	c.mu.Lock()
	if c.destroyed {
		c.mu.Unlock()
		return fmt.Errorf("create pod %s: cluster %s is destroyed", ref, c.prefix)
	}
	if _, exists := c.pods[ref.String()]; exists {
		c.mu.Unlock()
		return fmt.Errorf("create pod %s: already exists", ref)
	}
	parked := c.parked[ref.String()]
	delete(c.parked, ref.String())
	if parked != nil && parked.alive() && parked.netns != nil && !pod.HostNetwork && running(pod) &&
		parked.node.Name == node.Name && parked.serves(pod) && (pod.IP == "" || pod.IP == parked.ip.String()) {
		// A pod Deploy set aside earlier comes back: same namespace, same
		// agent, a new API object with a new UID.
		c.podSeq++
		parked.uid = fmt.Sprintf("%spod%d", c.prefix, c.podSeq)
		c.pods[ref.String()] = parked
		c.mu.Unlock()
		return c.publishPod(ctx, parked, pod)
	}
	c.podSeq++
	seq := c.podSeq
	rt := &podRuntime{
		ref:      ref,
		identity: ref.String(),
		node:     node,
		uid:      fmt.Sprintf("%spod%d", c.prefix, seq),
		socket:   filepath.Join(c.runDir, fmt.Sprintf("pod%d.sock", seq)),
	}
	c.pods[ref.String()] = rt // reserved; removed again on failure
	c.mu.Unlock()
	if parked != nil {
		if err := c.discard(ctx, parked); err != nil {
			c.log.Warn("discard parked pod", "cluster", c.prefix, "pod", ref.String(), "err", err)
		}
	}

	if err := c.startPod(ctx, rt, pod, node); err != nil {
		c.mu.Lock()
		delete(c.pods, ref.String())
		c.mu.Unlock()
		rt.stopAgent()
		if rt.netns != nil {
			err = errors.Join(err, c.fabric.DeletePod(context.WithoutCancel(ctx), rt.netns))
		}
		return fmt.Errorf("create pod %s: %w", ref, err)
	}
	return c.publishPod(ctx, rt, pod)
}

// publishPod creates the API object of a pod whose agent serves.
func (c *Cluster) publishPod(ctx context.Context, rt *podRuntime, pod model.Pod) error {
	ip := rt.ip.String()
	if !rt.ip.IsValid() {
		ip = ""
	}
	obj := podObject(pod, rt.uid, rt.node, ip)
	if _, err := c.client.CoreV1().Pods(pod.Namespace).Create(ctx, obj, createOpts); err != nil {
		return errors.Join(fmt.Errorf("create pod %s: %w", rt.ref, err), c.DeletePod(context.WithoutCancel(ctx), rt.ref))
	}
	return nil
}

// running says whether the pod's containers run (Running, or no phase given).
func running(pod model.Pod) bool {
	return pod.Phase == "" || pod.Phase == corev1.PodRunning
}

func (c *Cluster) startPod(ctx context.Context, rt *podRuntime, pod model.Pod, node fabric.Node) error {
	if pod.HostNetwork {
		return c.startHostNetworkPod(ctx, rt, pod, node)
	}
	var opts []fabric.PodOption
	if ip, err := netip.ParseAddr(pod.IP); err == nil && node.PodCIDR.Contains(ip) && ip != node.Gateway {
		opts = append(opts, fabric.WithPodIP(ip))
	}
	ns, err := c.fabric.AddPod(ctx, node.Index, pod.Ref().String(), opts...)
	if err != nil && len(opts) > 0 {
		// The wished IP is taken or unusable: any IP will do.
		ns, err = c.fabric.AddPod(ctx, node.Index, pod.Ref().String())
	}
	if err != nil {
		return err
	}
	rt.netns = ns
	rt.ip = ns.IP
	if !running(pod) {
		// A finished or pending pod has an address (kept, as the kubelet
		// reports it, except while pending) but nothing runs in it.
		if pod.Phase == corev1.PodPending {
			rt.ip = netip.Addr{}
		}
		return nil
	}
	rt.served = servedPorts(pod)
	if err := c.startAgent(rt, rt.netns.NetNS); err != nil {
		return err
	}
	return waitAgentReady(ctx, rt)
}

// startHostNetworkPod runs the pod's agent in its node's namespace, serving
// exactly the declared ports on the node's IP. Two hostNetwork pods on one
// node cannot serve the same port, as on a real node.
func (c *Cluster) startHostNetworkPod(ctx context.Context, rt *podRuntime, pod model.Pod, node fabric.Node) error {
	if !running(pod) {
		return fmt.Errorf("a hostNetwork pod must be running (phase %s)", pod.Phase)
	}
	rt.ip = node.IP
	rt.served = declaredPorts(pod)
	if len(rt.served) == 0 {
		return fmt.Errorf("a hostNetwork pod needs container ports to serve")
	}
	if err := c.startAgent(rt, node.NetNS); err != nil {
		return err
	}
	return waitAgentReady(ctx, rt)
}

// startAgent starts this executable as the pod's agent inside the pod's
// namespace. The agent dies with this process (SIGKILL on parent death);
// cleanup finds strays by their environment.
func (c *Cluster) startAgent(rt *podRuntime, netnsName string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for the agent: %w", err)
	}
	logFile, err := os.Create(strings.TrimSuffix(rt.socket, ".sock") + ".log")
	if err != nil {
		return fmt.Errorf("agent log: %w", err)
	}
	defer logFile.Close()
	args := serveArgs(rt.identity, rt.served)
	if rt.netns == nil {
		// Several servers share the node's namespace: an SCTP INIT for a
		// port this agent does not serve is someone else's.
		args = append(args, "--sctp-no-abort")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), agentEnv+"="+c.prefix, controlEnv+"="+rt.socket)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	// A child inherits the network namespace of the thread that forks it.
	if err := startIn(netnsName, cmd); err != nil {
		return fmt.Errorf("start agent in %s: %w", netnsName, err)
	}
	rt.agent = cmd
	rt.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(rt.exited)
	}()
	return nil
}

// servedPorts is what a pod's agent listens on: every port number the pod
// declares, and the default ports, on every protocol among them. Serving
// more than the pod declares lets Deploy keep the pod when a later topology
// declares other ports; the runner only probes declared ports.
func servedPorts(pod model.Pod) []model.PortProtocol {
	ports := []int32{}
	protocols := []corev1.Protocol{}
	for _, pp := range append(model.DefaultPorts(), declaredPorts(pod)...) {
		if !slices.Contains(ports, pp.Port) {
			ports = append(ports, pp.Port)
		}
		if !slices.Contains(protocols, pp.Protocol) {
			protocols = append(protocols, pp.Protocol)
		}
	}
	var out []model.PortProtocol
	for _, port := range ports {
		for _, proto := range protocols {
			out = append(out, model.PortProtocol{Port: port, Protocol: proto})
		}
	}
	return out
}

func declaredPorts(pod model.Pod) []model.PortProtocol {
	var out []model.PortProtocol
	for _, cp := range pod.Ports {
		out = append(out, model.PortProtocol{Port: cp.Port, Protocol: protocolOrTCP(cp.Protocol)})
	}
	return out
}

// serveArgs are the flags of `probe serve` for the served ports: every port
// number on every protocol among them (for pods with their own namespace,
// served is already such a product).
func serveArgs(identity string, served []model.PortProtocol) []string {
	var ports, protocols []string
	for _, pp := range served {
		port := strconv.Itoa(int(pp.Port))
		if !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
		proto := strings.ToLower(string(pp.Protocol))
		if !slices.Contains(protocols, proto) {
			protocols = append(protocols, proto)
		}
	}
	return []string{"--identity", identity, "--ports", strings.Join(ports, ","), "--protocols", strings.Join(protocols, ",")}
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// waitAgentReady probes the pod's own IP from inside the pod until every
// served port answers with the pod's identity.
func waitAgentReady(ctx context.Context, rt *podRuntime) error {
	var probes []agent.Probe
	for _, pp := range rt.served {
		probes = append(probes, agent.Probe{
			ID:       pp.String(),
			To:       netip.AddrPortFrom(rt.ip, uint16(pp.Port)).String(),
			Protocol: string(pp.Protocol),
			Timeout:  500 * time.Millisecond,
			Expect:   rt.identity,
		})
	}
	deadline := time.Now().Add(agentReadyTimeout)
	var lastErr error
	for attempt := 0; ; attempt++ {
		select {
		case <-rt.exited:
			return fmt.Errorf("agent exited: %v (log: %s)", rt.agent.ProcessState, strings.TrimSuffix(rt.socket, ".sock")+".log")
		default:
		}
		results, err := sendBatch(ctx, rt.socket, probes)
		if err == nil {
			lastErr = nil
			for _, r := range results {
				if r.Outcome != agent.Connected {
					lastErr = fmt.Errorf("%s answered %s: %s", r.ID, r.Outcome, r.Error)
					break
				}
			}
			if lastErr == nil {
				return nil
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent not ready after %s: %w", agentReadyTimeout, lastErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(min(attempt+1, 10)) * 10 * time.Millisecond):
		}
	}
}

// DeletePod removes the pod from the API first (so enforcers forget it),
// then stops its agent and removes its namespace.
func (c *Cluster) DeletePod(ctx context.Context, ref model.PodRef) error {
	err := c.client.CoreV1().Pods(ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", ref, err)
	}
	c.mu.Lock()
	rt, ok := c.pods[ref.String()]
	delete(c.pods, ref.String())
	c.mu.Unlock()
	if !ok {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s: no such pod", ref)
		}
		return nil
	}
	if err := c.discard(ctx, rt); err != nil {
		return fmt.Errorf("delete pod %s: %w", ref, err)
	}
	return nil
}

// parkPod removes the pod from the API but keeps its namespace and agent, so
// a later Deploy or CreatePod of the same pod is cheap. Nothing probes a
// parked pod and no enforcer knows it.
func (c *Cluster) parkPod(ctx context.Context, ref model.PodRef) error {
	err := c.client.CoreV1().Pods(ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", ref, err)
	}
	c.mu.Lock()
	rt, ok := c.pods[ref.String()]
	delete(c.pods, ref.String())
	reusable := ok && rt.netns != nil && rt.alive()
	if reusable {
		c.parked[ref.String()] = rt
	}
	c.mu.Unlock()
	if ok && !reusable {
		// hostNetwork agents hold node ports; pods without an agent are
		// cheap to make again.
		if err := c.discard(ctx, rt); err != nil {
			return fmt.Errorf("delete pod %s: %w", ref, err)
		}
	}
	return nil
}

// discard stops a pod's agent and removes its namespace.
func (c *Cluster) discard(ctx context.Context, rt *podRuntime) error {
	rt.stopAgent()
	_ = os.Remove(rt.socket)
	if rt.netns == nil {
		return nil
	}
	return c.fabric.DeletePod(ctx, rt.netns)
}

func (c *Cluster) nodeFor(pod model.Pod) (fabric.Node, error) {
	if pod.Node != "" {
		return c.fabric.NodeByName(pod.Node)
	}
	// No node asked for: spread pods over the nodes.
	c.mu.Lock()
	n := len(c.pods)
	c.mu.Unlock()
	nodes := c.fabric.Nodes()
	return nodes[n%len(nodes)], nil
}

func (c *Cluster) controlSocket(source string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt, ok := c.pods[source]
	if node, isNode := matrix.NodeOf(source); isNode {
		rt, ok = c.nodeAgents[node]
	}
	if !ok {
		return "", fmt.Errorf("probe from %s: no such pod in netns cluster %s", source, c.prefix)
	}
	if rt.agent == nil {
		return "", fmt.Errorf("probe from %s: the pod is not running", source)
	}
	return rt.socket, nil
}
