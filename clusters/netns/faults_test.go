package netns

import (
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// faultTopology is x/a and x/c on node-1, x/b on node-2, serving 80/TCP.
func faultTopology() *model.Topology {
	base := model.DefaultTopology()
	topo := &model.Topology{Namespaces: map[string]model.Namespace{"x": base.Namespaces["x"]}, Nodes: base.Nodes}
	for _, p := range base.Pods {
		if p.Namespace == "x" {
			p.Ports = []model.ContainerPort{{Name: "serve-80-tcp", Port: 80, Protocol: corev1.ProtocolTCP}}
			topo.Pods = append(topo.Pods, p)
		}
	}
	return topo
}

// newFaultCluster is a cluster with faultTopology deployed and, unless
// enforcer is "none", the reference enforcer installed.
func newFaultCluster(t *testing.T, enforcer string, opts ...Option) (*Cluster, *model.Topology) {
	t.Helper()
	requireRoot(t)
	ctx := context.Background()
	c, err := Create(ctx, append([]Option{WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Destroy(context.Background()); err != nil {
			t.Errorf("destroy: %v", err)
		}
		assertNothingLeft(t, c.Name())
	})
	if err := c.Deploy(ctx, faultTopology()); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallEnforcer(ctx, enforcer); err != nil {
		t.Fatal(err)
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, topo
}

// probeOnce probes 80/TCP from a source (a pod, or a node's source name) to
// a pod of topo and returns the outcome.
func probeOnce(t *testing.T, c *Cluster, topo *model.Topology, from, to string) agent.Result {
	t.Helper()
	ip := ""
	for _, p := range topo.Pods {
		if p.Ref().String() == to {
			ip = p.IP
		}
	}
	cell := matrix.Cell{From: from, To: matrix.Target{Pod: to, IP: ip}, Port: 80, Protocol: agent.TCP}
	obs, err := matrix.Run(context.Background(), c.Prober(), []matrix.Cell{cell}, matrix.WithProbeTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return obs.Results[cell.Key()]
}

// eventually polls probeOnce until the outcome is (connected) or is not
// (!connected) Connected, for up to 5 seconds, and returns how long it took.
func eventually(t *testing.T, c *Cluster, topo *model.Topology, from, to string, connected bool, why string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := probeOnce(t, c, topo, from, to)
		if (r.Outcome == agent.Connected) == connected {
			return time.Since(start)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: %s -> %s:80/TCP still %s (%s) after 5s", why, from, to, r.Outcome, r.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// denyIngressTo isolates the pods labelled pod=<pod> in namespace x for
// ingress, with no rule.
func denyIngressTo(pod string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "deny-" + pod},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"pod": pod}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
}

func createPolicy(t *testing.T, c *Cluster, np *networkingv1.NetworkPolicy) {
	t.Helper()
	if _, err := c.Client().NetworkingV1().NetworkPolicies(np.Namespace).Create(context.Background(), np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var (
	xa = model.PodRef{Namespace: "x", Name: "a"}
	xb = model.PodRef{Namespace: "x", Name: "b"}
)

// KillAgent: the pod's servers die (probes to it are refused), batches from
// it fail, and the API still shows it Running.
func TestKillAgentKillsServersButThePodStaysRunning(t *testing.T) {
	c, topo := newFaultCluster(t, "none")
	eventually(t, c, topo, "x/a", "x/b", true, "before the fault")
	if err := c.KillAgent(xb); err != nil {
		t.Fatal(err)
	}
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome == agent.Connected {
		t.Errorf("x/a -> x/b connected after x/b's agent was killed")
	}
	if r := probeOnce(t, c, topo, "x/b", "x/a"); r.Outcome != agent.Error {
		t.Errorf("a batch from x/b ran after its agent was killed: %s (%s)", r.Outcome, r.Error)
	}
	if r := probeOnce(t, c, topo, "x/a", "x/c"); r.Outcome != agent.Connected {
		t.Errorf("x/a -> x/c: %s (%s); the fault must touch x/b only", r.Outcome, r.Error)
	}
	pod, err := c.Client().CoreV1().Pods("x").Get(context.Background(), "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
		t.Errorf("x/b in the API: phase %s IP %q, want Running with its IP", pod.Status.Phase, pod.Status.PodIP)
	}
	// Deleting the pod heals: it can be created again.
	if err := c.DeletePod(context.Background(), xb); err != nil {
		t.Fatal(err)
	}
	if err := c.Deploy(context.Background(), faultTopology()); err != nil {
		t.Fatal(err)
	}
	eventually(t, c, topo, "x/a", "x/b", true, "after x/b was recreated")
}

// BreakControlSocket: batches from the pod fail, its servers still answer.
func TestBreakControlSocketKeepsTheServers(t *testing.T) {
	c, topo := newFaultCluster(t, "none")
	if err := c.BreakControlSocket(xb); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prober().ProbeBatch(context.Background(), "x/b", nil); err == nil {
		t.Errorf("a batch from x/b ran after its control socket was removed")
	}
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome != agent.Connected {
		t.Errorf("x/a -> x/b: %s (%s), want connected: the agent keeps serving", r.Outcome, r.Error)
	}
	if err := c.BreakControlSocket(model.PodRef{Namespace: "x", Name: "nope"}); err == nil {
		t.Errorf("breaking the socket of a missing pod succeeded")
	}
}

// DeletePodRoute: the pod's node and other pods no longer reach it; the pod
// still reaches itself.
func TestDeletePodRouteCutsThePathIntoThePod(t *testing.T) {
	c, topo := newFaultCluster(t, "none")
	node2 := matrix.NodeSource("node-2")
	eventually(t, c, topo, node2, "x/b", true, "before the fault")
	if err := c.DeletePodRoute(xb); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{node2, "x/a"} {
		if r := probeOnce(t, c, topo, from, "x/b"); r.Outcome == agent.Connected {
			t.Errorf("%s -> x/b connected without the node's route to x/b", from)
		}
	}
	if r := probeOnce(t, c, topo, "x/b", "x/b"); r.Outcome != agent.Connected {
		t.Errorf("x/b -> x/b: %s (%s), want connected: the pod itself is intact", r.Outcome, r.Error)
	}
	if r := probeOnce(t, c, topo, "x/a", "x/c"); r.Outcome != agent.Connected {
		t.Errorf("x/a -> x/c: %s (%s); the fault must touch x/b only", r.Outcome, r.Error)
	}
	if err := c.DeletePodRoute(xb); err == nil {
		t.Errorf("deleting a route that is gone succeeded")
	}
}

// StopEnforcer ends one node's instance as a crash would: its rules stay,
// and it no longer follows the API; StartEnforcer brings a fresh instance
// that does.
func TestStopEnforcerKeepsRulesAndStartEnforcerFollowsTheAPI(t *testing.T) {
	c, topo := newFaultCluster(t, "reference")
	ctx := context.Background()
	createPolicy(t, c, denyIngressTo("b"))
	eventually(t, c, topo, "x/a", "x/b", false, "deny-b enforced")
	if err := c.StopEnforcer("node-2"); err != nil {
		t.Fatal(err)
	}
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome == agent.Connected {
		t.Errorf("x/a -> x/b connected once node-2's enforcer stopped: its rules must stay")
	}
	if err := c.StopEnforcer("node-2"); err == nil {
		t.Errorf("stopping a stopped enforcer succeeded")
	}
	if err := c.Client().NetworkingV1().NetworkPolicies("x").Delete(ctx, "deny-b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome == agent.Connected {
		t.Errorf("x/a -> x/b connected after the policy was deleted: node-2 has no enforcer to remove the rules")
	}
	if err := c.StartEnforcer(ctx, "node-2"); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, c, topo, "x/a", "x/b", true, "the restarted enforcer removes deny-b")
	t.Logf("the fresh instance caught up %s after it was ready", took)
	if err := c.StartEnforcer(ctx, "node-2"); err == nil {
		t.Errorf("a second instance started on node-2")
	}
	if err := c.StartEnforcer(ctx, "node-9"); err == nil {
		t.Errorf("an enforcer started on a node that does not exist")
	}
}

// filterTable returns the node's filter table from both iptables backends.
func filterTable(t *testing.T, c *Cluster, node string) string {
	t.Helper()
	n, err := c.fabric.NodeByName(node)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err = fabric.Do(n.NetNS, func() error {
		for _, save := range []string{"iptables-legacy-save", "iptables-nft-save"} {
			if _, err := exec.LookPath(save); err != nil {
				continue
			}
			b, err := exec.Command(save, "-t", "filter").Output()
			if err != nil {
				return err
			}
			out.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// enforcerRules counts the chains and rules of the enforcer's chains, and
// the jumps into them from FORWARD and INPUT.
func enforcerRules(table string) (chains, rules, jumps int) {
	for line := range strings.Lines(table) {
		switch {
		case strings.HasPrefix(line, ":NPC-"):
			chains++
		case strings.HasPrefix(line, "-A NPC-"):
			rules++
		case (strings.HasPrefix(line, "-A FORWARD ") || strings.HasPrefix(line, "-A INPUT ")) && strings.Contains(line, "-j NPC-"):
			jumps++
		}
	}
	return chains, rules, jumps
}

// FlushEnforcerChains empties the enforcer's chains on one node and leaves
// the chains and jumps in place: the node stops enforcing. With the default
// resync (60 s) nothing repairs it during the test.
func TestFlushEnforcerChainsEmptiesChainsAndKeepsJumps(t *testing.T) {
	c, topo := newFaultCluster(t, "reference")
	createPolicy(t, c, denyIngressTo("b"))
	eventually(t, c, topo, "x/a", "x/b", false, "deny-b enforced")
	chains, rules, jumps := enforcerRules(filterTable(t, c, "node-2"))
	if chains == 0 || rules == 0 || jumps < 2 {
		t.Fatalf("before the flush node-2 holds %d NPC- chains, %d rules, %d jumps; want some of each", chains, rules, jumps)
	}
	if err := c.FlushEnforcerChains("node-2"); err != nil {
		t.Fatal(err)
	}
	gotChains, gotRules, gotJumps := enforcerRules(filterTable(t, c, "node-2"))
	if gotChains != chains || gotRules != 0 || gotJumps != jumps {
		t.Errorf("after the flush: %d chains, %d rules, %d jumps; want %d, 0, %d", gotChains, gotRules, gotJumps, chains, jumps)
	}
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome != agent.Connected {
		t.Errorf("x/a -> x/b after the flush: %s (%s), want connected (the leak the flush makes)", r.Outcome, r.Error)
	}
	if _, n1rules, _ := enforcerRules(filterTable(t, c, "node-1")); n1rules == 0 {
		t.Errorf("node-1's chains were flushed too")
	}
}

// With a short resync period the enforcer finds the flushed chains and
// rewrites them: the denial returns, with the same rules as before.
func TestEnforcerRepairsFlushedChainsOnResync(t *testing.T) {
	const resync = 500 * time.Millisecond
	c, topo := newFaultCluster(t, "reference", WithEnforcerResyncPeriod(resync))
	createPolicy(t, c, denyIngressTo("b"))
	eventually(t, c, topo, "x/a", "x/b", false, "deny-b enforced")
	before := filterTable(t, c, "node-2")
	chains, rules, _ := enforcerRules(before)
	if err := c.FlushEnforcerChains("node-2"); err != nil {
		t.Fatal(err)
	}
	flushed := time.Now()
	leaked := probeOnce(t, c, topo, "x/a", "x/b").Outcome == agent.Connected
	eventually(t, c, topo, "x/a", "x/b", false, "the enforcer repairs the flush")
	repaired := time.Since(flushed)
	if repaired > 3*resync {
		t.Errorf("repaired %s after the flush, want within about one resync period (%s)", repaired, resync)
	}
	if gotChains, gotRules, _ := enforcerRules(filterTable(t, c, "node-2")); gotChains != chains || gotRules != rules {
		t.Errorf("after the repair: %d chains, %d rules; before the flush %d, %d", gotChains, gotRules, chains, rules)
	}
	t.Logf("leak seen right after the flush: %v; denied again %s after it (resync %s)", leaked, repaired.Round(time.Millisecond), resync)
}

// While watches are paused the enforcer never hears of a new policy; after
// ResumeWatches it hears of later ones but the dropped event stays lost
// until the enforcer restarts and lists the API again.
func TestPauseWatchesDropsEventsForGood(t *testing.T) {
	c, topo := newFaultCluster(t, "reference")
	ctx := context.Background()
	c.PauseWatches()
	createPolicy(t, c, denyIngressTo("b"))
	time.Sleep(300 * time.Millisecond)
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome != agent.Connected {
		t.Fatalf("x/a -> x/b: %s (%s) while watches are paused: the enforcer heard of deny-b", r.Outcome, r.Error)
	}
	c.ResumeWatches()
	createPolicy(t, c, denyIngressTo("c"))
	eventually(t, c, topo, "x/a", "x/c", false, "deny-c, created after ResumeWatches")
	if r := probeOnce(t, c, topo, "x/a", "x/b"); r.Outcome != agent.Connected {
		t.Errorf("x/a -> x/b: %s (%s): the event of deny-b was dropped, it must stay unseen", r.Outcome, r.Error)
	}
	if err := c.StopEnforcer("node-2"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartEnforcer(ctx, "node-2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, c, topo, "x/a", "x/b", false, "deny-b after node-2's enforcer restarted")
}

// Restarting enforcers must not take agents with them. Linux kills a child
// started with Pdeathsig when the OS thread that forked it exits, and the Go
// runtime ends a thread whose goroutine returns while locked to it, as each
// enforcer's sync goroutine does when StopEnforcer ends it; an agent forked
// from a thread an enforcer later locked dies with that enforcer. Every stop
// is a draw, so the test stops and starts many times.
func TestRestartingEnforcersLeavesAgentsAlive(t *testing.T) {
	c, _ := newFaultCluster(t, "reference")
	ctx := context.Background()
	for range 15 {
		for _, node := range []string{"node-1", "node-2"} {
			if err := c.StopEnforcer(node); err != nil {
				t.Fatal(err)
			}
			if err := c.StartEnforcer(ctx, node); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // a SIGKILLed agent's exit is reaped asynchronously
	c.mu.Lock()
	var dead []string
	for name, rt := range c.pods {
		if !rt.alive() {
			dead = append(dead, name)
		}
	}
	for node, rt := range c.nodeAgents {
		if !rt.alive() {
			dead = append(dead, "node agent "+node)
		}
	}
	c.mu.Unlock()
	if len(dead) > 0 {
		t.Errorf("agents died while enforcers restarted (Pdeathsig of the forking thread): %v", dead)
	}
}
