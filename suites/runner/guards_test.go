package runner

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// guardScenario is a situation, made with real packets on a netns cluster,
// in which a step must not pass, and the guard that stops it.
type guardScenario struct {
	name  string
	guard guard
	// run builds the situation and runs one step with a runner made by
	// newRunner (which carries the guards of the run).
	run func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step
	// caught returns nil when the step failed the way the guard makes it
	// fail, and says what happened otherwise.
	caught func(sr result.Step) error
}

// TestGuards runs every scenario twice: with every guard in force the step
// must be caught; with the scenario's guard switched off it must pass, which
// shows that the scenario is the test that fails without the guard. Clauses:
// DESIGN "Probes" (error is never blocked) and "The runner".
func TestGuards(t *testing.T) {
	covered := map[guard]bool{}
	for _, sc := range guardScenarios() {
		covered[sc.guard] = true
		t.Run(sc.name, func(t *testing.T) {
			t.Run("guarded", func(t *testing.T) {
				sr := sc.run(t, newCluster(t), guardedRunner(nil))
				if err := sc.caught(sr); err != nil {
					t.Errorf("with the guard %q in force: %v\n%s", sc.guard, err, result.Describe(result.Case{Name: sc.name, Steps: []result.Step{sr}}))
				}
			})
			t.Run("without guard", func(t *testing.T) {
				sr := sc.run(t, newCluster(t), guardedRunner(map[guard]bool{sc.guard: true}))
				if sc.caught(sr) == nil {
					t.Errorf("without the guard %q the step is still caught: the scenario does not test the guard", sc.guard)
				}
				if !sr.Passed {
					t.Errorf("without the guard %q the step should pass (the false pass the guard prevents), got error=%q failure=%q", sc.guard, sr.Error, sr.Failure)
				}
			})
		})
	}
	for _, g := range guards {
		if !covered[g] {
			t.Errorf("guard %q has no scenario", g)
		}
	}
}

func guardedRunner(disabled map[guard]bool) func(...Option) *Runner {
	return func(opts ...Option) *Runner {
		r := New(nil, opts...)
		r.disabled = disabled
		return r
	}
}

// runOne resets c to tc and runs step on it with a runner for c.
func runOne(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner, tc cases.Case, step cases.Step, settle int,
	before func(), hook func(RoundInfo), opts ...Option) result.Step {
	t.Helper()
	r := newRunner(append([]Option{WithDeadline(3 * time.Second), WithProbeTimeout(300 * time.Millisecond)}, opts...)...)
	r.cluster = c
	state := start(t, r, tc)
	if before != nil {
		before()
	}
	if hook != nil {
		r.roundHook = hook
	}
	return r.runStepAlone(context.Background(), state, step, settle, RoundInfo{Case: tc.Name})
}

func guardScenarios() []guardScenario {
	isolateXA := cases.Step{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}
	return []guardScenario{
		{
			// x/a may send nothing and serves no probed port; its agent
			// cannot be reached. Read as timeouts, its denied cells would
			// pass: the path is proven (x/a's node reaches it on 81).
			name:  "a probe that cannot run is an infrastructure error",
			guard: guardProbeErrors,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				topo := smallTopology()
				topo.Pods[0].Ports = []model.ContainerPort{{Name: "serve-81-tcp", Port: 81, Protocol: corev1.ProtocolTCP}}
				step := cases.Step{
					Name:    "x/a sends nothing",
					Actions: []cases.Action{cases.CreatePolicy{Policy: denyAllFromXA(networkingv1.PolicyTypeEgress)}},
					Probes:  []model.PortProtocol{{Port: 80, Protocol: corev1.ProtocolTCP}},
				}
				tc := cases.Case{Name: "x/a's agent unreachable", Topology: topo, Steps: []cases.Step{step}}
				return runOne(t, c, newRunner, tc, step, 2, func() {
					if err := c.BreakControlSocket(xa); err != nil {
						t.Fatal(err)
					}
				}, nil)
			},
			caught: wantError("probes could not run"),
		},
		{
			// x/a's own firewall resets everyone but x/a: a server that
			// answers only itself. The refusals are not the enforcer's.
			name:  "a refusal from a server that answers only itself is unproven",
			guard: guardDenialProof,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				tc := cases.Case{Name: "x/a refuses others", Topology: smallTopology()}
				return runOne(t, c, newRunner, tc, isolateXA, 2, func() {
					inPod(t, c, xa, "iptables", "-w", "-I", "INPUT", "!", "-s", podIP(t, c, xa), "-p", "tcp", "--dport", "80", "-j", "REJECT", "--reject-with", "tcp-reset")
				}, nil)
			},
			caught: wantError("not proven"),
		},
		{
			name:  "a UDP server hung for everyone but itself is unproven",
			guard: guardDenialProof,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				topo := smallTopology()
				for i := range topo.Pods {
					topo.Pods[i].Ports = []model.ContainerPort{{Name: "serve-80-udp", Port: 80, Protocol: corev1.ProtocolUDP}}
				}
				step := cases.Step{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}
				tc := cases.Case{Name: "x/a hangs for others", Topology: topo}
				return runOne(t, c, newRunner, tc, step, 2, func() {
					inPod(t, c, xa, "iptables", "-w", "-I", "INPUT", "!", "-s", podIP(t, c, xa), "-p", "udp", "--dport", "80", "-j", "DROP")
				}, nil)
			},
			caught: wantError("not proven"),
		},
		{
			// x/a may neither send nor receive. Once its node's route to it
			// is gone, nothing reaches it and its replies are lost: every
			// one of its cells looks denied.
			name:  "a route deleted mid-step is unproven",
			guard: guardDenialProof,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				step := cases.Step{Name: "x/a isolated both ways", Actions: []cases.Action{cases.CreatePolicy{Policy: denyAllFromXA(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)}}}
				tc := cases.Case{Name: "x/a loses its route", Topology: smallTopology()}
				var deleted atomic.Bool
				return runOne(t, c, newRunner, tc, step, 2, nil, func(at RoundInfo) {
					if at.Round == 1 && !deleted.Swap(true) {
						if err := c.DeletePodRoute(xa); err != nil {
							t.Error(err)
						}
					}
				})
			},
			caught: wantError("not proven"),
		},
		{
			// x/a may send nothing and serves no probed port, so it is only
			// a source; its node lost the route to it, so its replies are
			// lost and every one of its cells times out like a denial.
			name:  "a source cut off from its node is unproven",
			guard: guardDenialProof,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				topo := smallTopology()
				topo.Pods[0].Ports = []model.ContainerPort{{Name: "serve-81-tcp", Port: 81, Protocol: corev1.ProtocolTCP}}
				step := cases.Step{
					Name:    "x/a sends nothing",
					Actions: []cases.Action{cases.CreatePolicy{Policy: denyAllFromXA(networkingv1.PolicyTypeEgress)}},
					Probes:  []model.PortProtocol{{Port: 80, Protocol: corev1.ProtocolTCP}},
				}
				tc := cases.Case{Name: "x/a detached", Topology: topo, Steps: []cases.Step{step}}
				return runOne(t, c, newRunner, tc, step, 2, func() {
					if err := c.DeletePodRoute(xa); err != nil {
						t.Fatal(err)
					}
				}, nil)
			},
			caught: wantError("did not reach the source"),
		},
		{
			// x/a (node-1) may neither send nor receive, and every cell
			// between the nodes involves it; x/b's node loses its uplink,
			// so all of them time out like denials.
			name:  "nodes cut apart are unproven",
			guard: guardDenialProof,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				step := cases.Step{Name: "x/a isolated both ways", Actions: []cases.Action{cases.CreatePolicy{Policy: denyAllFromXA(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)}}}
				tc := cases.Case{Name: "node-2 loses its uplink", Topology: smallTopology()}
				return runOne(t, c, newRunner, tc, step, 2, func() {
					inNode(t, c, xb, "ip", "link", "set", "eth0", "down")
				}, nil)
			},
			caught: wantError("did not reach node"),
		},
		{
			// A filter that comes and goes every round matches every other
			// round: never twice in a row.
			name:  "a rule toggled every round does not converge",
			guard: guardStableConvergence,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				tc := cases.Case{Name: "flapping filter", Topology: smallTopology()}
				return runOne(t, c, newRunner, tc, isolateXA, 2, nil, func(at RoundInfo) {
					op := "-D"
					if at.Round%2 == 1 {
						op = "-I"
					}
					rejectNewToXA(t, c, op, "icmp-admin-prohibited")
				})
			},
			caught: wantFailure("did not converge stably"),
		},
		{
			// Enforced by hand from the start; once stable, the allowed
			// x/b -> y/a is rejected for one round.
			name:  "an allowed cell lost after convergence is flaky",
			guard: guardLostAfterConvergence,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				tc := cases.Case{Name: "allowed cell lost once", Topology: smallTopology()}
				var lost atomic.Int64
				var rule []string
				return runOne(t, c, newRunner, tc, isolateXA, 2, func() {
					rejectNewToXA(t, c, "-I", "icmp-admin-prohibited")
					rule = []string{"-s", podIP(t, c, xb), "-d", podIP(t, c, ya), "-p", "tcp", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"}
				}, func(at RoundInfo) {
					switch {
					case at.Stable && lost.Load() == 0:
						lost.Store(int64(at.Round))
						inNode(t, c, ya, append([]string{"iptables", "-w", "-I", "FORWARD"}, rule...)...)
					case lost.Load() == int64(at.Round-1) && at.Round > 1:
						inNode(t, c, ya, append([]string{"iptables", "-w", "-D", "FORWARD"}, rule...)...)
					}
				})
			},
			caught: wantFailure("flaky"),
		},
		{
			// The API answers the create but stores nothing; nothing
			// enforces either, so the cluster matches "no policies".
			name:  "a policy the API silently dropped is an error",
			guard: guardCaseState,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				tc := cases.Case{Name: "policy swallowed", Topology: smallTopology()}
				return runOne(t, c, newRunner, tc, isolateXA, 2, func() {
					c.Client().(*fake.Clientset).PrependReactor("create", "networkpolicies", func(a k8stesting.Action) (bool, runtime.Object, error) {
						return true, a.(k8stesting.CreateAction).GetObject(), nil
					})
				}, nil)
			},
			caught: wantError("policy x/deny-a is missing"),
		},
		{
			name:  "a step that judges no cell fails",
			guard: guardJudgedCells,
			run: func(t *testing.T, c *netns.Cluster, newRunner func(...Option) *Runner) result.Step {
				tc := cases.Case{Name: "nothing to judge", Topology: smallTopology()}
				step := cases.Step{Name: "probe a port nobody serves", Probes: []model.PortProtocol{{Port: 9999, Protocol: corev1.ProtocolTCP}}}
				return runOne(t, c, newRunner, tc, step, 2, nil, nil)
			},
			caught: wantError("no cell was judged"),
		},
	}
}

var (
	xa = model.PodRef{Namespace: "x", Name: "a"}
	xb = model.PodRef{Namespace: "x", Name: "b"}
	ya = model.PodRef{Namespace: "y", Name: "a"}
)

func wantError(part string) func(result.Step) error {
	return func(sr result.Step) error {
		if sr.Passed || !strings.Contains(errorText(sr.Error), part) {
			return fmt.Errorf("want an infrastructure error with %q, got passed=%v error=%q failure=%q", part, sr.Passed, sr.Error, sr.Failure)
		}
		return nil
	}
}

func wantFailure(part string) func(result.Step) error {
	return func(sr result.Step) error {
		if sr.Passed || sr.Error != nil || !strings.Contains(sr.Failure, part) {
			return fmt.Errorf("want a failure with %q, got passed=%v error=%q failure=%q", part, sr.Passed, sr.Error, sr.Failure)
		}
		return nil
	}
}

// denyAllFromXA isolates x/a in the given directions with no rules.
func denyAllFromXA(types ...networkingv1.PolicyType) *networkingv1.NetworkPolicy {
	np := denyIngressToXA()
	np.Name = "isolate-a"
	np.Spec.PolicyTypes = slices.Clone(types)
	return np
}

func podIP(t *testing.T, c *netns.Cluster, ref model.PodRef) string {
	t.Helper()
	topo, err := c.Topology(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range topo.Pods {
		if p.Ref() == ref {
			return p.IP
		}
	}
	t.Fatalf("pod %s is not deployed", ref)
	return ""
}

// inPod runs a command inside the pod's own network namespace.
func inPod(t *testing.T, c *netns.Cluster, ref model.PodRef, argv ...string) {
	t.Helper()
	ns, err := c.PodNetNS(ref)
	if err != nil {
		t.Fatal(err)
	}
	ipNetNSExec(t, ns, argv...)
}

// inNode runs a command in the namespace of the node that hosts the pod.
func inNode(t *testing.T, c *netns.Cluster, ref model.PodRef, argv ...string) {
	t.Helper()
	topo, err := c.Topology(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range topo.Pods {
		if p.Ref() == ref {
			ns, err := c.NodeNetNS(p.Node)
			if err != nil {
				t.Fatal(err)
			}
			ipNetNSExec(t, ns, argv...)
			return
		}
	}
	t.Fatalf("pod %s is not deployed", ref)
}

func ipNetNSExec(t *testing.T, ns string, argv ...string) {
	t.Helper()
	args := append([]string{"netns", "exec", ns}, argv...)
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// A server that does not answer its own pod is the pod's problem, not the
// enforcer's: the cells into it are unproven, and the step is an
// infrastructure error naming the server, even though the node still
// reaches it. (Without the self check the step would fail anyway, on the
// self cell, but blamed on the enforcer.)
func TestAServerThatRefusesItsOwnPodIsAnInfrastructureError(t *testing.T) {
	c := newCluster(t)
	tc := cases.Case{Name: "x/a refuses itself", Topology: smallTopology()}
	sr := runOne(t, c, guardedRunner(nil), tc, cases.Step{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}, 2, func() {
		ip := podIP(t, c, xa)
		inPod(t, c, xa, "iptables", "-w", "-I", "INPUT", "-s", ip, "-d", ip, "-p", "tcp", "--dport", "80", "-j", "REJECT", "--reject-with", "tcp-reset")
	}, nil)
	if err := wantError("x/a did not answer itself on 80/TCP")(sr); err != nil {
		t.Error(err)
	}
}

// errorText is an infrastructure error's message, "" for none.
func errorText(e *result.InfraError) string {
	if e == nil {
		return ""
	}
	return e.Message
}

// runStepAlone runs one step after the reset, as the first of its case.
func (r *Runner) runStepAlone(ctx context.Context, state *cases.State, step cases.Step, settle int, at RoundInfo) result.Step {
	sr, _ := r.runStep(ctx, state, step, settle, allAllowed, at)
	return sr
}
