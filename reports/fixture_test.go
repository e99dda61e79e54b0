package reports

import (
	"fmt"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The fixed result set every golden test renders. It holds one case of each
// verdict and the corners a report must show apart:
//
//   - "ingress deny-all in x" passed: two steps, 80/TCP and 80/UDP, cells that
//     the steps changed with their time-to-enforce, transient leaks.
//   - "egress to y on 81/SCTP" failed: its second step leaked x/a -> y/a and
//     x/b -> y/a on 81/SCTP after convergence (2 wrong cells, with reasons),
//     and carries its manifests.
//   - "named port resolves per pod" hit an infrastructure error: the probes
//     from y/a could not run (3 cells observed error).
//   - "the node reaches its pods" is implementation-defined and passed, with
//     2 undefined cells.
//
// In numbers: 4 cases ran of 4 selected: 2 passed, 1 failed, 1 error; 2
// undefined cells; the failed case has 2 wrong cells.

var (
	fxA = model.PodRef{Namespace: "x", Name: "a"}
	fxB = model.PodRef{Namespace: "x", Name: "b"}
	fyA = model.PodRef{Namespace: "y", Name: "a"}
	fyH = model.PodRef{Namespace: "y", Name: "host"}

	tcp80  = model.PortProtocol{Port: 80, Protocol: "TCP"}
	udp80  = model.PortProtocol{Port: 80, Protocol: "UDP"}
	sctp81 = model.PortProtocol{Port: 81, Protocol: "SCTP"}

	fixtureStart = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
)

func ms(n int) *time.Duration {
	d := time.Duration(n) * time.Millisecond
	return &d
}

// cellSpec is what differs between the cells of a fixture step.
type cellSpec struct {
	expected model.Decision
	observed agent.Outcome
	tte      *time.Duration
	changed  bool
	leaks    int // before convergence
	after    int // leaks after convergence
	detail   string
}

// fixtureStep builds a step of pods on ports; spec says, per cell key
// "from>to port", what is not the default (allowed, connected, matched at
// once, unchanged).
func fixtureStep(name string, pods []model.PodRef, ports []model.PortProtocol, spec map[string]cellSpec) result.Step {
	s := result.Step{Name: name, Passed: true, Converged: true, Rounds: 6, Deadline: 10 * time.Second,
		TimeToConverge: 40 * time.Millisecond, Pods: pods, Ports: ports}
	for _, from := range pods {
		for _, to := range pods {
			for _, pp := range ports {
				key := fmt.Sprintf("%s>%s %s", from, to, pp)
				cs, ok := spec[key]
				if !ok {
					cs = cellSpec{expected: model.Allowed, observed: agent.Connected, tte: ms(0)}
				}
				c := result.Cell{From: from, To: to, PortProtocol: pp, Expected: cs.expected, Observed: cs.observed,
					TimeToEnforce: cs.tte, Changed: cs.changed, LeakRounds: cs.leaks, LeaksAfterConvergence: cs.after, Detail: cs.detail}
				switch {
				case cs.expected == model.Undefined:
					c.TimeToEnforce = nil
					c.Reasons = []model.Reason{{Clause: model.ClauseNode, Rule: -1, Peer: -1, PortIndex: -1,
						Text: fmt.Sprintf("traffic from %s, a hostNetwork pod, to a pod on its node is left to the implementation", from)}}
				case cs.expected == model.Denied:
					c.Match = cs.observed == agent.Rejected || cs.observed == agent.Timeout
					c.Reasons = []model.Reason{
						{Direction: model.Ingress, Clause: model.ClauseIso, Policy: to.Namespace + "/deny", Rule: -1, Peer: -1, PortIndex: -1,
							Text: fmt.Sprintf("%s is isolated for ingress by %s/deny", to, to.Namespace)},
						{Direction: model.Ingress, Clause: model.ClauseRule, Policy: to.Namespace + "/deny", Rule: -1, Peer: -1, PortIndex: -1,
							Text: fmt.Sprintf("no rule admits %s on %s for ingress", from, pp)},
					}
				default:
					c.Match = cs.observed == agent.Connected
					c.Reasons = []model.Reason{{Direction: model.Ingress, Clause: model.ClauseIso, Rule: -1, Peer: -1, PortIndex: -1,
						Text: fmt.Sprintf("%s is not isolated for ingress", to)}}
				}
				if cs.observed == agent.Error {
					c.Match = false
				}
				if !c.Match {
					c.TimeToEnforce = nil
				}
				s.Cells = append(s.Cells, c)
			}
		}
	}
	for _, c := range s.Cells {
		sum := &s.Summary
		sum.Cells++
		switch {
		case !c.Judged():
			sum.Undefined++
		case c.Match:
			sum.Judged++
			sum.Matched++
		default:
			sum.Judged++
			sum.Mismatched++
		}
		if c.Observed == agent.Error {
			sum.Errors++
		}
		sum.LeakRounds += c.LeakRounds
		sum.LeaksAfterConvergence += c.LeaksAfterConvergence
	}
	return s
}

// fixtureSet is the complete fixed run.
func fixtureSet() *result.Set {
	three := []model.PodRef{fxA, fxB, fyA}
	denyX := map[string]cellSpec{}
	for _, pp := range []model.PortProtocol{tcp80, udp80} {
		for i, from := range []model.PodRef{fxB, fyA} {
			denyX[fmt.Sprintf("%s>%s %s", from, fxA, pp)] = cellSpec{expected: model.Denied, observed: agent.Rejected,
				tte: ms(30 + 10*i), changed: true, leaks: 1, detail: "connect: no route to host"}
		}
	}
	passed := result.Case{Name: "ingress deny-all in x", Profile: result.ProfileCore, Features: []string{"ingress", "default-deny"},
		Clauses: []model.ClauseID{model.ClauseIso}, Passed: true, Duration: 1200 * time.Millisecond,
		Steps: []result.Step{
			fixtureStep("deny all ingress to x/a", three, []model.PortProtocol{tcp80, udp80}, denyX),
			fixtureStep("nothing changes", three, []model.PortProtocol{tcp80}, map[string]cellSpec{
				"x/b>x/a 80/TCP": {expected: model.Denied, observed: agent.Rejected, tte: ms(0)},
				"y/a>x/a 80/TCP": {expected: model.Denied, observed: agent.Rejected, tte: ms(0)},
			}),
		}}

	leak := map[string]cellSpec{
		"x/a>y/a 81/SCTP": {expected: model.Denied, observed: agent.Connected, changed: true, leaks: 2, after: 3},
		"x/b>y/a 81/SCTP": {expected: model.Denied, observed: agent.Connected, changed: true, leaks: 2, after: 3},
	}
	failedStep := fixtureStep("deny egress to y/a on 81/SCTP", three, []model.PortProtocol{sctp81}, leak)
	failedStep.Passed, failedStep.Converged, failedStep.TimeToConverge = false, false, 0
	failedStep.Failure = "6 denied cell-rounds connected after convergence"
	failed := result.Case{Name: "egress to y on 81/SCTP", Profile: result.ProfileCore, Features: []string{"egress", "sctp"},
		Clauses: []model.ClauseID{model.ClauseIso, model.ClausePort}, Duration: 10500 * time.Millisecond,
		Failure: "deny egress to y/a on 81/SCTP: 6 denied cell-rounds connected after convergence",
		Steps: []result.Step{
			fixtureStep("allow all egress", three, []model.PortProtocol{sctp81}, nil),
			failedStep,
		},
		Reproduce: &result.Reproduction{Step: 2, StepName: "deny egress to y/a on 81/SCTP", Probes: []string{"81/SCTP"},
			Manifests: "# case \"egress to y on 81/SCTP\", step 2\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"}}

	broken := map[string]cellSpec{}
	for _, to := range three {
		broken[fmt.Sprintf("y/a>%s 80/TCP", to)] = cellSpec{expected: model.Allowed, observed: agent.Error,
			detail: "batch from y/a failed: exec: agent exited"}
	}
	errStep := fixtureStep("admit serve-80-tcp by name", three, []model.PortProtocol{tcp80}, broken)
	errStep.Passed, errStep.Converged, errStep.TimeToConverge, errStep.Rounds = false, false, 0, 1
	errStep.Error = result.Errorf(result.ErrorProbe, "probes could not run (round 1), e.g. y/a -> x/a:80/TCP: batch from y/a failed: exec: agent exited")
	errored := result.Case{Name: "named port resolves per pod", Profile: result.ProfileCore, Features: []string{"ingress", "named-port"},
		Clauses: []model.ClauseID{model.ClausePort}, Duration: 2 * time.Second,
		Error: result.Errorf(result.ErrorProbe, "admit serve-80-tcp by name: probes could not run (round 1), e.g. y/a -> x/a:80/TCP: batch from y/a failed: exec: agent exited"),
		Steps: []result.Step{errStep}}

	node := result.Case{Name: "the node reaches its pods", Profile: result.ProfileImplementationDefined, Features: []string{"host-network"},
		Clauses: []model.ClauseID{model.ClauseNode, model.ClauseHostNet}, Passed: true, Duration: 800 * time.Millisecond,
		Steps: []result.Step{fixtureStep("deny all ingress in x", []model.PodRef{fxA, fyH}, []model.PortProtocol{tcp80}, map[string]cellSpec{
			"y/host>x/a 80/TCP":    {expected: model.Undefined, observed: agent.Connected},
			"y/host>y/host 80/TCP": {expected: model.Undefined, observed: agent.Connected},
			"x/a>y/host 80/TCP":    {expected: model.Allowed, observed: agent.Connected, tte: ms(0)},
		})}}

	return &result.Set{
		Run: result.Run{ID: "20261129-120000-npc-test", Netpolcheck: "v0.1.0-test", Commit: "0123abc", Suite: "netpolcheck run",
			Provider: "netns", Cluster: "npc-test", Kubernetes: "v1.37.2",
			Enforcer: result.Implementation{Kind: "reference", Name: "netpolcheck-reference-iptables", Version: "v0.1.0-test",
				URL: "https://github.com/netpolcheck/netpolcheck"},
			Start: fixtureStart, Selected: 4, Library: map[string]int{result.ProfileCore: 95, result.ProfileImplementationDefined: 1}},
		Preflight: &result.Preflight{Passed: true, Duration: 900 * time.Millisecond, CanaryEnforcedIn: 25 * time.Millisecond,
			Case: result.Case{Name: "preflight", Profile: result.ProfileCore, Passed: true}},
		Cases: []result.Case{passed, failed, errored, node},
		End:   &result.End{End: fixtureStart.Add(15 * time.Second)},
	}
}

// incompleteFixtureSet is the run killed after its second case: no end
// line, 2 of 6 selected cases ran.
func incompleteFixtureSet() *result.Set {
	s := fixtureSet()
	s.Run.Selected = 6
	s.Cases = s.Cases[:2]
	s.End = nil
	return s
}
