package cases

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// upstreamNames are the 48 data-plane tests of the upstream suite
// (test/e2e/network/netpol/network_policy.go), written out independently of
// the case data: context, then It text.
var upstreamNames = func() []string {
	tcp := []string{
		"should support a 'default-deny-ingress' policy",
		"should support a 'default-deny-all' policy",
		"should enforce policy to allow traffic from pods within server namespace based on PodSelector",
		"should enforce policy to allow ingress traffic for a target",
		"should enforce policy to allow ingress traffic from pods in all namespaces",
		"should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
		"should enforce policy based on PodSelector with MatchExpressions",
		"should enforce policy based on NamespaceSelector with MatchExpressions",
		"should enforce policy based on PodSelector or NamespaceSelector",
		"should enforce policy based on PodSelector and NamespaceSelector",
		"should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
		"should enforce policy based on any PodSelectors",
		"should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
		"should enforce policy based on Ports",
		"should enforce multiple, stacked policies with overlapping podSelectors",
		"should support allow-all policy",
		"should allow ingress access on one named port",
		"should allow ingress access from namespace on one named port",
		"should allow egress access on one named port",
		"should enforce updated policy",
		"should allow ingress access from updated namespace",
		"should allow ingress access from updated pod",
		"should deny ingress from pods on other namespaces",
		"should deny ingress access to updated pod",
		"should deny egress from pods based on PodSelector",
		"should deny egress from all pods in a namespace",
		"should work with Ingress, Egress specified together",
		"should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
		"should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
		"should enforce ingress policy allowing any port traffic to a server on a specific protocol",
		"should enforce multiple ingress policies with ingress allow-all policy taking precedence",
		"should enforce multiple egress policies with egress allow-all policy taking precedence",
		"should stop enforcing policies after they are deleted",
		"should allow egress access to server in CIDR block",
		"should enforce except clause while egress access to server in CIDR block",
		"should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
		"should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
		"should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
		"should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
		"should not allow access by TCP when a policy specifies only UDP",
		"should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
		"should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
	}
	perProtocol := []string{
		"should support a 'default-deny-ingress' policy",
		"should enforce policy based on Ports",
		"should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
	}
	var out []string
	for _, it := range tcp {
		out = append(out, "NetworkPolicy between server and client "+it)
	}
	for _, proto := range []string{"UDP", "SCTP"} {
		for _, it := range perProtocol {
			out = append(out, "NetworkPolicy between server and client using "+proto+" "+it)
		}
	}
	return out
}()

var featureLabel = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// TestLibraryIsWellFormed checks the shape of every case: what the runner
// and the Ginkgo suites rely on without looking.
func TestLibraryIsWellFormed(t *testing.T) {
	all := All()
	if len(all) < 80 {
		t.Errorf("library has %d cases, want at least 80", len(all))
	}
	if len(upstreamNames) != 48 {
		t.Fatalf("the test lists %d upstream names, want 48", len(upstreamNames))
	}
	known := model.Clauses()
	names := map[string]bool{}
	upstreamSeen := map[string]int{}
	for _, c := range all {
		if c.Name == "" || strings.TrimSpace(c.Name) != c.Name {
			t.Errorf("case %q: name empty or padded", c.Name)
		}
		if names[c.Name] {
			t.Errorf("case %q: name used twice", c.Name)
		}
		names[c.Name] = true
		if c.Upstream != "" {
			upstreamSeen[c.Upstream]++
			if !slices.Contains(c.Features, "upstream") {
				t.Errorf("case %q mirrors upstream but lacks the upstream label", c.Name)
			}
		} else if slices.Contains(c.Features, "upstream") {
			t.Errorf("case %q has the upstream label but no Upstream text", c.Name)
		}
		checkLabels(t, c)
		if len(c.Clauses) == 0 {
			t.Errorf("case %q cites no clause", c.Name)
		}
		for _, id := range c.Clauses {
			if !slices.Contains(known, id) {
				t.Errorf("case %q cites clause %q, which DESIGN.md does not list", c.Name, id)
			}
		}
		checkSteps(t, c)
	}
	for _, name := range upstreamNames {
		if n := upstreamSeen[name]; n != 1 {
			t.Errorf("upstream scenario %q appears %d times, want once", name, n)
		}
	}
	for name := range upstreamSeen {
		if !slices.Contains(upstreamNames, name) {
			t.Errorf("case claims upstream scenario %q, which upstream does not have", name)
		}
	}
}

// checkLabels: every feature is a valid Ginkgo label in our kebab-case
// vocabulary, used once, and the protocol labels are exactly the protocols
// the case probes (so label filters such as !sctp skip the right cases).
func checkLabels(t *testing.T, c Case) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range c.Features {
		if _, err := types.ValidateAndCleanupLabel(f, types.CodeLocation{}); err != nil || !featureLabel.MatchString(f) {
			t.Errorf("case %q: feature %q is not a valid lower-case Ginkgo label (%v)", c.Name, f, err)
		}
		if seen[f] {
			t.Errorf("case %q: feature %q given twice", c.Name, f)
		}
		seen[f] = true
	}
	probed := map[string]bool{}
	for _, s := range c.Steps {
		for _, pp := range s.Probes {
			probed[strings.ToLower(string(pp.Protocol))] = true
		}
	}
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		if probed[proto] != seen[proto] {
			t.Errorf("case %q: protocol label %q present=%v but probed=%v", c.Name, proto, seen[proto], probed[proto])
		}
	}
	if !seen["ingress"] && !seen["egress"] {
		t.Errorf("case %q: neither ingress nor egress label", c.Name)
	}
}

// checkSteps replays a case on a State: every action applies cleanly, every policy passes model.Validate, every step probes
// ports that every pod then in the topology serves.
func checkSteps(t *testing.T, c Case) {
	t.Helper()
	if len(c.Steps) == 0 {
		t.Errorf("case %q has no steps", c.Name)
		return
	}
	if c.Topology != nil {
		if err := c.Topology.Validate(); err != nil {
			t.Errorf("case %q: topology: %v", c.Name, err)
			return
		}
	}
	state := StateFor(c)
	for i, s := range c.Steps {
		if s.Name == "" {
			t.Errorf("case %q step %d has no name", c.Name, i+1)
		}
		if len(s.Probes) == 0 {
			t.Errorf("case %q step %d (%s) probes nothing", c.Name, i+1, s.Name)
		}
		if i > 0 && len(s.Actions) == 0 {
			t.Errorf("case %q step %d (%s) changes nothing", c.Name, i+1, s.Name)
		}
		for j, a := range s.Actions {
			if a == nil {
				t.Errorf("case %q step %d action %d: nil", c.Name, i+1, j+1)
				continue
			}
			if written := policyOf(a); written != nil {
				np, err := state.ResolvePolicy(written)
				if err != nil {
					t.Errorf("case %q step %d action %d: %v", c.Name, i+1, j+1, err)
					continue
				}
				if err := model.Validate(np); err != nil {
					t.Errorf("case %q step %d action %d: invalid policy: %v", c.Name, i+1, j+1, err)
				}
			}
			if err := state.Apply(a); err != nil {
				t.Errorf("case %q step %d action %d: %v", c.Name, i+1, j+1, err)
			}
		}
		if err := state.Topology.Validate(); err != nil {
			t.Errorf("case %q step %d: topology after the actions: %v", c.Name, i+1, err)
		}
		for _, pp := range s.Probes {
			for _, p := range state.Topology.Pods {
				if !p.Serves(pp) {
					t.Errorf("case %q step %d probes %s but pod %s does not serve it", c.Name, i+1, pp, p.Ref())
				}
			}
		}
	}
}

// TestCasePoliciesKeepUnsetFieldsUnset guards the point of the NP-TYPES and
// NP-PORT cases: some policies must reach the cluster without policyTypes or
// without a protocol, as a user writes them.
func TestCasePoliciesKeepUnsetFieldsUnset(t *testing.T) {
	var noTypes, noProtocol int
	for _, c := range All() {
		state := StateFor(c)
		for _, s := range c.Steps {
			for _, a := range s.Actions {
				if written := policyOf(a); written != nil {
					np, err := state.ResolvePolicy(written)
					if err != nil {
						t.Fatalf("case %q: %v", c.Name, err)
					}
					if np.Spec.PolicyTypes == nil {
						noTypes++
					}
					for _, r := range np.Spec.Ingress {
						for _, p := range r.Ports {
							if p.Protocol == nil {
								noProtocol++
							}
						}
					}
					for _, r := range np.Spec.Egress {
						for _, p := range r.Ports {
							if p.Protocol == nil {
								noProtocol++
							}
						}
					}
				}
				if err := state.Apply(a); err != nil {
					t.Fatalf("case %q: %v", c.Name, err)
				}
			}
		}
	}
	if noTypes < 3 {
		t.Errorf("%d policies leave policyTypes unset, want at least 3 (NP-TYPES)", noTypes)
	}
	if noProtocol < 3 {
		t.Errorf("%d port entries leave protocol unset, want at least 3 (NP-PORT)", noProtocol)
	}
}

// policyOf is the policy a create or update action writes, nil for the
// other actions.
func policyOf(a Action) *networkingv1.NetworkPolicy {
	switch a := a.(type) {
	case CreatePolicy:
		return a.Policy
	case UpdatePolicy:
		return a.Policy
	}
	return nil
}
