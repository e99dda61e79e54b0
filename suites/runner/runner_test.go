package runner

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		clause   model.ClauseID
		expected model.Decision
		observed agent.Outcome
		proven   bool
		want     Judgement
	}{
		{"NP-ISO", model.Allowed, agent.Connected, true, Match},
		// A connection with the right identity needs no proof.
		{"NP-ISO", model.Allowed, agent.Connected, false, Match},
		{"NP-ISO", model.Allowed, agent.Rejected, true, Mismatch},
		{"NP-ISO", model.Allowed, agent.Refused, true, Mismatch},
		// An allowed cell that fails on a path not proven up is no verdict.
		{"NP-ISO", model.Allowed, agent.Timeout, false, Unproven},
		{"NP-ISO", model.Denied, agent.Rejected, true, Match},
		{"NP-ISO", model.Denied, agent.Timeout, true, Match},
		// A refusal while the server and the path are proven up came from
		// a filter (REJECT with tcp-reset or port-unreachable) ...
		{"NP-ISO", model.Denied, agent.Refused, true, Match},
		// ... without the proof it may be a dead server, a lost route, a
		// hung agent: never a denial.
		{"NP-ISO", model.Denied, agent.Refused, false, Unproven},
		{"NP-ISO", model.Denied, agent.Timeout, false, Unproven},
		{"NP-ISO", model.Denied, agent.Rejected, false, Unproven},
		{"NP-ISO", model.Denied, agent.Connected, true, Mismatch},
		{"NP-ISO", model.Denied, agent.Connected, false, Mismatch},
		{"NP-ISO", model.Denied, agent.WrongPeer, true, Mismatch},
		// An error is never a denial.
		{"NP-ISO", model.Denied, agent.Error, true, Unproven},
		{"NP-HOSTNET", model.Undefined, agent.Connected, true, NotJudged},
	} {
		if got := Judge(tc.expected, tc.observed, tc.proven); got != tc.want {
			t.Errorf("%s: Judge(%s, %s, proven=%v) = %v, want %v", tc.clause, tc.expected, tc.observed, tc.proven, got, tc.want)
		}
	}
}

// smallTopology is x/a, x/b and y/a of the default topology, serving 80/TCP.
func smallTopology() *model.Topology {
	full := model.DefaultTopology()
	topo := &model.Topology{Namespaces: full.Namespaces, Nodes: full.Nodes}
	for _, p := range full.Pods {
		switch p.Ref().String() {
		case "x/a", "x/b", "y/a":
			p.Ports = []model.ContainerPort{{Name: "serve-80-tcp", Port: 80, Protocol: corev1.ProtocolTCP}}
			topo.Pods = append(topo.Pods, p)
		}
	}
	return topo
}

func denyIngressToXA() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "deny-a"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"pod": "a"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
}

// start resets the cluster to the case and returns the state its steps
// start from.
func start(t *testing.T, r *Runner, tc cases.Case) *cases.State {
	t.Helper()
	state, _, err := r.reset(context.Background(), tc)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func newCluster(t *testing.T) *netns.Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the runner tests use a netns cluster: run as root (sudo -E go test ./suites/runner/)")
	}
	c, err := netns.Create(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Destroy(context.Background()); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	return c
}

// Without an enforcer, a policy that isolates x/a changes nothing on the
// wire: the runner must fail the step, mark exactly the cells the model
// denies (NP-ISO; x/a to itself stays allowed by NP-SELF) as wrong, count
// them as leaks, and explain them.
func TestUnenforcedDenialFailsOnExactlyTheDeniedCells(t *testing.T) {
	c := newCluster(t)
	r := New(c, WithDeadline(500*time.Millisecond), WithProbeTimeout(500*time.Millisecond))
	tc := cases.Case{
		Name:     "deny ingress to x/a, unenforced",
		Topology: smallTopology(),
		Steps:    []cases.Step{{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}},
	}
	res := r.Run(context.Background(), tc)
	if res.Passed || res.Error != nil {
		t.Fatalf("want a failed case without infrastructure error, got passed=%v error=%q", res.Passed, res.Error)
	}
	sr := res.Steps[0]
	if sr.Converged || sr.Summary.Cells != 9 || sr.Summary.Mismatched != 2 {
		t.Fatalf("summary %+v converged=%v; want 9 cells, 2 wrong, not converged", sr.Summary, sr.Converged)
	}
	for _, cell := range sr.Cells {
		deny := cell.To.String() == "x/a" && cell.From.String() != "x/a"
		if deny != !cell.Match || cell.Observed != agent.Connected {
			t.Errorf("%s -> %s: expected %s observed %s match %v", cell.From, cell.To, cell.Expected, cell.Observed, cell.Match)
		}
		if deny && (cell.LeakRounds != sr.Rounds || len(cell.Reasons) == 0) {
			t.Errorf("%s -> %s: %d leak rounds of %d, %d reasons", cell.From, cell.To, cell.LeakRounds, sr.Rounds, len(cell.Reasons))
		}
	}
	text := result.Describe(res)
	for _, want := range []string{"FAIL", "expected", "observed", "comparison", "x/b -> x/a 80/TCP: expected denied, observed connected", "NP-ISO"} {
		if !strings.Contains(text, want) {
			t.Errorf("description lacks %q:\n%s", want, text)
		}
	}
	t.Log("\n" + text)
}

// A REJECT rule written by hand in x/a's node does what the policy says:
// the runner must converge at once and pass, with a time-to-enforce per cell.
func TestHandWrittenRejectSatisfiesTheModel(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	r := New(c, WithDeadline(2*time.Second), WithProbeTimeout(500*time.Millisecond))
	tc := cases.Case{Name: "deny ingress to x/a, by hand", Topology: smallTopology()}
	state := start(t, r, tc)
	rejectNewToXA(t, c, "-I", "icmp-admin-prohibited")
	sr := r.runStepAlone(ctx, state, cases.Step{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}, 2, RoundInfo{})
	if !sr.Passed || !sr.Converged || sr.Rounds != stableRounds+2 {
		t.Fatalf("want a pass after stable convergence + 2 settle rounds, got passed=%v converged=%v rounds=%d error=%q\n%s",
			sr.Passed, sr.Converged, sr.Rounds, sr.Error, result.Describe(result.Case{Name: tc.Name, Steps: []result.Step{sr}}))
	}
	for _, cell := range sr.Cells {
		if cell.TimeToEnforce == nil || cell.LeakRounds != 0 || cell.Flips != 0 {
			t.Errorf("%s -> %s: tte %v leaks %d flips %d", cell.From, cell.To, cell.TimeToEnforce, cell.LeakRounds, cell.Flips)
		}
		if cell.To.String() == "x/a" && cell.From.String() != "x/a" && cell.Observed != agent.Rejected {
			t.Errorf("%s -> x/a observed %s, want rejected", cell.From, cell.Observed)
		}
	}
}

// A filter that rejects with a TCP reset makes denied cells look refused.
// While x/a's server answers x/a itself in the same round, the refusal can
// only come from the filter, so the step passes; the cells must have been
// observed refused, or the test proves nothing.
func TestRefusalByAFilterIsADenialWhileTheServerIsUp(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	r := New(c, WithDeadline(2*time.Second), WithProbeTimeout(500*time.Millisecond))
	tc := cases.Case{Name: "deny ingress to x/a with resets, by hand", Topology: smallTopology()}
	state := start(t, r, tc)
	rejectNewToXA(t, c, "-I", "tcp-reset")
	sr := r.runStepAlone(ctx, state, cases.Step{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}, 2, RoundInfo{})
	if !sr.Passed {
		t.Fatalf("want a pass, got error=%q\n%s", sr.Error, result.Describe(result.Case{Name: tc.Name, Steps: []result.Step{sr}}))
	}
	refused := 0
	for _, cell := range sr.Cells {
		if cell.To.String() == "x/a" && cell.From.String() != "x/a" {
			if cell.Observed != agent.Refused {
				t.Errorf("%s -> x/a observed %s, want refused (tcp-reset)", cell.From, cell.Observed)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no cell into x/a was probed")
	}
}

// rejectNewToXA inserts (-I) or deletes (-D) a rule in x/a's node that
// rejects new TCP connections to x/a (smallTopology serves only 80/TCP) with
// the given --reject-with. Pods hang off their node by routed veths:
// all traffic to x/a from other pods crosses its node's FORWARD chain.
// Replies to x/a's own connections must pass, hence NEW only.
func rejectNewToXA(t *testing.T, c *netns.Cluster, op, rejectWith string) {
	t.Helper()
	topo, err := c.Topology(context.Background())
	if err != nil {
		t.Error(err)
		return
	}
	for _, p := range topo.Pods {
		if p.Ref().String() != "x/a" {
			continue
		}
		rule := []string{"netns", "exec", c.Name() + p.Node, "iptables", "-w", op, "FORWARD", "-d", p.IP + "/32", "-p", "tcp",
			"-m", "conntrack", "--ctstate", "NEW", "-j", "REJECT", "--reject-with", rejectWith}
		if out, err := exec.Command("ip", rule...).CombinedOutput(); err != nil {
			t.Errorf("ip %v: %v: %s", rule, err, out)
		}
		return
	}
	t.Error("x/a is not deployed")
}

// An enforcement that goes away after convergence is a leak after
// convergence: the step must fail even if nothing else changed.
func TestLeakAfterConvergenceFailsTheStep(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	r := New(c, WithDeadline(1500*time.Millisecond), WithProbeTimeout(500*time.Millisecond), WithRoundInterval(20*time.Millisecond))
	tc := cases.Case{Name: "deny ingress to x/a, then the rule vanishes", Topology: smallTopology()}
	state := start(t, r, tc)
	rejectNewToXA(t, c, "-I", "icmp-admin-prohibited")
	// Settle long enough (about a second of rounds) for the rule to vanish
	// while the runner watches.
	done := make(chan result.Step)
	go func() {
		done <- r.runStepAlone(ctx, state, cases.Step{Name: "isolate x/a", Actions: []cases.Action{cases.CreatePolicy{Policy: denyIngressToXA()}}}, 40, RoundInfo{})
	}()
	time.Sleep(400 * time.Millisecond)
	rejectNewToXA(t, c, "-D", "icmp-admin-prohibited")
	sr := <-done
	if sr.Passed || sr.Summary.LeaksAfterConvergence == 0 {
		t.Fatalf("want a failed step with leaks after convergence, got passed=%v summary=%+v", sr.Passed, sr.Summary)
	}
	text := result.Describe(result.Case{Name: tc.Name, Steps: []result.Step{sr}})
	if !strings.Contains(text, "leaks after convergence") || !strings.Contains(text, " L ") {
		t.Errorf("description does not show the leak:\n%s", text)
	}
}

// hostNetwork peers are implementation-defined (NP-HOSTNET): their cells are
// probed and reported apart, never judged; the other cells are, with the
// reference enforcer in place.
func TestHostNetworkCellsAreReportedApart(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.InstallEnforcer(ctx, "reference"); err != nil {
		t.Fatal(err)
	}
	topo := smallTopology()
	topo.Pods = append(topo.Pods, model.Pod{Namespace: "x", Name: "host", Node: "node-1", HostNetwork: true,
		Labels: map[string]string{"pod": "host"},
		Ports:  []model.ContainerPort{{Name: "serve-80-tcp", Port: 80, Protocol: corev1.ProtocolTCP}}})
	// x/a may send only to pods of x: whether that covers x/host is up to
	// the implementation.
	egress := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "a-to-x-only"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"pod": "a"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		},
	}
	r := New(c, WithDeadline(5*time.Second), WithProbeTimeout(500*time.Millisecond))
	res := r.Run(ctx, cases.Case{
		Name:     "egress to own namespace with a hostNetwork pod around",
		Topology: topo,
		Steps:    []cases.Step{{Name: "x/a sends only within x", Actions: []cases.Action{cases.CreatePolicy{Policy: egress}}}},
	})
	if !res.Passed {
		t.Fatalf("%s", result.Describe(res))
	}
	sr := res.Steps[0]
	if sr.Summary.Undefined == 0 || sr.Summary.Judged+sr.Summary.Undefined != sr.Summary.Cells {
		t.Errorf("summary %+v: want undefined cells counted apart from judged ones", sr.Summary)
	}
	for _, cell := range sr.Cells {
		if cell.Expected == model.Undefined && cell.Match {
			t.Errorf("%s -> %s: an undefined cell was judged", cell.From, cell.To)
		}
	}
	t.Logf("summary %+v", sr.Summary)
}
