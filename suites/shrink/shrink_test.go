package shrink

import (
	"context"
	"errors"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// hasExcept is a stand-in for "the cluster still fails": some policy the
// case sends has an ipBlock except entry.
func hasExcept(_ context.Context, c cases.Case) (bool, error) {
	for _, s := range c.Steps {
		for _, a := range s.Actions {
			np, _ := policyOf(a)
			if np == nil {
				continue
			}
			for _, rs := range [][]networkingv1.NetworkPolicyPeer{peersOf(np.Spec.Ingress), peersOf(np.Spec.Egress)} {
				for _, p := range rs {
					if p.IPBlock != nil && len(p.IPBlock.Except) > 0 {
						return true, nil
					}
				}
			}
		}
	}
	return false, nil
}

func peersOf[R networkingv1.NetworkPolicyIngressRule | networkingv1.NetworkPolicyEgressRule](rules []R) []networkingv1.NetworkPolicyPeer {
	var out []networkingv1.NetworkPolicyPeer
	for _, r := range rules {
		switch r := any(r).(type) {
		case networkingv1.NetworkPolicyIngressRule:
			out = append(out, r.From...)
		case networkingv1.NetworkPolicyEgressRule:
			out = append(out, r.To...)
		}
	}
	return out
}

// handMinimum is what handCase shrinks to under hasExcept: one step, the
// one policy, one rule, its ipBlock peer with the except naming y/b, the
// one pod that placeholder needs, x for the policy, one probe and the
// port it probes.
const handMinimum = `
name: hand-built
topology:
  namespaces: {x: {labels: {ns: x}}, "y": {labels: {ns: "y"}}}
  pods:
    - {namespace: "y", name: b, labels: {pod: b}, node: node-2, ip: 10.244.2.13, ports: [{port: 81, protocol: TCP}]}
steps:
  - name: deny and allow
    actions:
      - createPolicy:
          metadata: {namespace: x, name: allow}
          spec:
            podSelector: {}
            policyTypes: [Ingress]
            ingress:
              - from:
                  - ipBlock: {cidr: "{{podCIDR y/b /4 /8}}", except: ["{{podCIDR y/b /32 /128}}"]}
    probes: [81/TCP]
`

// TestShrinkReachesTheMinimumOfAFakePredicate shrinks handCase while it
// still has an except entry: the result is handMinimum exactly, every cut
// of it loses the except (Minimal), and every attempt the search made was
// smaller than the best case it had then.
func TestShrinkReachesTheMinimumOfAFakePredicate(t *testing.T) {
	c := readCase(t, handCase)
	var attempts []Attempt
	got, st, err := Shrink(t.Context(), c, hasExcept, WithObserver(func(a Attempt) { attempts = append(attempts, a) }))
	if err != nil {
		t.Fatal(err)
	}
	if want := mustMarshal(t, readCase(t, handMinimum)); mustMarshal(t, got) != want {
		t.Errorf("shrunk to:\n%s\nwant:\n%s", mustMarshal(t, got), want)
	}
	if !st.Minimal || st.Stopped != "" || st.OriginalSize != Size(c) || st.Size != Size(got) || st.Size >= st.OriginalSize || st.Took <= 0 {
		t.Errorf("stats %+v", st)
	}
	if st.Attempts != len(attempts) {
		t.Errorf("%d attempts counted, %d observed", st.Attempts, len(attempts))
	}
	best := st.OriginalSize
	accepted := 0
	for _, a := range attempts {
		if a.Size >= best {
			t.Errorf("attempt %d (%s %s): size %d, not below the best %d", a.N, a.Kind, a.What, a.Size, best)
		}
		if a.Fails {
			best = a.Size
			accepted++
		}
	}
	sum := 0
	for _, n := range st.Accepted {
		sum += n
	}
	if sum != accepted {
		t.Errorf("accepted by kind %v, %d observed", st.Accepted, accepted)
	}
	t.Logf("size %d -> %d in %d attempts, accepted %v", st.OriginalSize, st.Size, st.Attempts, st.Accepted)
}

// TestShrinkKeepsToItsBudget: with a budget of three attempts the search
// stops after three, says why, and still returns a case that fails.
func TestShrinkKeepsToItsBudget(t *testing.T) {
	c := readCase(t, handCase)
	got, st, err := Shrink(t.Context(), c, hasExcept, WithMaxAttempts(3))
	if err != nil {
		t.Fatal(err)
	}
	if st.Attempts != 3 || st.Stopped != "max attempts" || st.Minimal {
		t.Errorf("stats %+v", st)
	}
	if fails, _ := hasExcept(t.Context(), got); !fails {
		t.Errorf("the result no longer fails:\n%s", mustMarshal(t, got))
	}
}

// TestShrinkStopsOnThePredicatesError: an interrupted run is no verdict;
// the search returns the best case so far with the error.
func TestShrinkStopsOnThePredicatesError(t *testing.T) {
	c := readCase(t, handCase)
	n := 0
	stop := errors.New("interrupted")
	got, st, err := Shrink(t.Context(), c, func(ctx context.Context, c cases.Case) (bool, error) {
		n++
		if n == 3 {
			return false, stop
		}
		return hasExcept(ctx, c)
	})
	if !errors.Is(err, stop) || st.Attempts != 3 || st.Minimal {
		t.Errorf("error %v, stats %+v", err, st)
	}
	if fails, _ := hasExcept(t.Context(), got); !fails || Size(got) >= Size(c) {
		t.Errorf("returned a case of size %d (from %d) that fails: %v", Size(got), Size(c), fails)
	}
}

// TestSameFailureKeepsTheBug: a candidate counts only if it fails (an
// infrastructure error proves nothing) with symptoms the original had.
func TestSameFailureKeepsTheBug(t *testing.T) {
	cell := func(expected model.Decision, observed agent.Outcome) result.Cell {
		return result.Cell{Expected: expected, Observed: observed, Match: (expected == model.Allowed) == (observed == agent.Connected)}
	}
	failed := func(cells ...result.Cell) result.Case {
		return result.Case{Steps: []result.Step{{Passed: true}, {Failure: "did not converge", Cells: cells}}, Failure: "x"}
	}
	leak := cell(model.Denied, agent.Connected)
	blocked := cell(model.Allowed, agent.Rejected)
	fine := cell(model.Denied, agent.Rejected)
	leaks := failed(fine, leak)
	if got := SignatureOf(leaks); len(got) != 1 || got[0] != Leak {
		t.Fatalf("signature %v, want leak", got)
	}
	errored := failed(leak)
	errored.Error = result.Errorf(result.ErrorProbe, "exec failed")
	for _, tc := range []struct {
		name string
		res  result.Case
		want bool
	}{
		{"the same symptom on other cells", failed(leak, fine), true},
		{"a pass", result.Case{Passed: true}, false},
		{"an infrastructure error", errored, false},
		{"another symptom", failed(blocked), false},
		{"the symptom and another", failed(leak, blocked), false},
		{"a failure without wrong cells", failed(fine), false},
	} {
		if got := SameFailure(SignatureOf(leaks), tc.res); got != tc.want {
			t.Errorf("%s: SameFailure = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !SameFailure(nil, failed(fine)) {
		t.Error("an original without symptoms: any failure should do")
	}
}
