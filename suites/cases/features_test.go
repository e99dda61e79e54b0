package cases

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// TestEveryRequiredFeatureHasCases: the library must cover each area the
// issues ask for; the counts are logged for the report (go test -v).
func TestEveryRequiredFeatureHasCases(t *testing.T) {
	counts := map[string]int{}
	for _, c := range All() {
		for _, f := range c.Features {
			counts[f]++
		}
	}
	required := []string{
		"upstream", "tcp", "udp", "sctp", "ingress", "egress", "default-deny", "allow-all",
		"pod-selector", "namespace-selector", "match-expressions", "ports", "named-port", "end-port",
		"ipblock", "except", "protocol-isolation", "policy-types", "multiple-policies",
		"update", "delete", "pod-relabel", "namespace-relabel", "create-pod", "delete-pod",
	}
	for _, f := range required {
		if counts[f] == 0 {
			t.Errorf("no case has feature %q", f)
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-20s %3d", k, counts[k])
	}
	t.Logf("%-20s %3d", "cases", len(All()))
}

var rewrite = flag.Bool("update", false, "rewrite testdata/features.txt from the library")

const featuresFile = "testdata/features.txt"

// TestDerivedFeaturesAgreeWithTheLibrary holds every case's labels (hand-
// listed extras, then derived) to testdata/features.txt, which started as
// the labels the library listed by hand. Every disagreement is reported, so
// a change of the derivation shows all the cases it relabels at once.
func TestDerivedFeaturesAgreeWithTheLibrary(t *testing.T) {
	all := All()
	if *rewrite {
		var b strings.Builder
		data, err := os.ReadFile(featuresFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if strings.HasPrefix(l, "#") {
				b.WriteString(l)
			}
		}
		for _, c := range all {
			fmt.Fprintf(&b, "%s\t%s\n", c.Name, strings.Join(slices.Sorted(slices.Values(c.Features)), " "))
		}
		if err := os.WriteFile(featuresFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readFeatures(t)
	for _, c := range all {
		for _, f := range extraFeatures(c) {
			if f != "upstream" {
				t.Errorf("case %q lists %q by hand: only labels nothing can derive (upstream) are listed by hand", c.Name, f)
			}
		}
		if got := WithDerivedFeatures(c).Features; !slices.Equal(got, c.Features) {
			t.Errorf("case %q: labels %v, but its hand-listed and derived labels are %v", c.Name, c.Features, got)
		}
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("case %q is not in %s (go test -run %s -update adds it)", c.Name, featuresFile, t.Name())
			continue
		}
		delete(want, c.Name)
		var missing, unexpected []string
		for _, f := range w {
			if !slices.Contains(c.Features, f) {
				missing = append(missing, f)
			}
		}
		for _, f := range c.Features {
			if !slices.Contains(w, f) {
				unexpected = append(unexpected, f)
			}
		}
		if len(missing)+len(unexpected) > 0 {
			t.Errorf("case %q: labels %v; %s also lists %v, and does not list %v", c.Name, c.Features, featuresFile, missing, unexpected)
		}
	}
	for name := range want {
		t.Errorf("%s lists %q, which is not a case of the library", featuresFile, name)
	}
}

func readFeatures(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(featuresFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		name, labels, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("%s line %d: want NAME<tab>LABELS", featuresFile, i+1)
		}
		out[name] = strings.Fields(labels)
	}
	return out
}

// TestDeriveFeaturesReadsWhatTheCaseDoes checks each derivation rule on a
// small case, including the corners where a label could be read two ways.
func TestDeriveFeaturesReadsWhatTheCaseDoes(t *testing.T) {
	topo := pods(probes(tcp80, udp80), "x/a", "y/a")
	tests := []struct {
		name    string
		actions []Action
		probes  []model.PortProtocol
		want    []string
	}{
		{"protocols come from the probes, not from the rules", create(
			newPolicy("x", "p", podSel("a")).types(ingressOnly...).ingress(onlyPorts(sctpPort(80))).build()),
			probes(tcp80), []string{"tcp", "ingress", "ports", "protocol-isolation"}},
		{"a rule naming every probed protocol isolates none", create(
			newPolicy("x", "p", podSel("a")).types(ingressOnly...).ingress(onlyPorts(portNum(80), udpPort(80))).build()),
			probes(tcp80, udp80), []string{"tcp", "udp", "ingress", "ports"}},
		{"deny-all is default-deny in both directions", create(denyAll("x", "d", all())),
			probes(tcp80), []string{"tcp", "ingress", "egress", "default-deny"}},
		{"an empty rule allows all", create(newPolicy("x", "p", all()).types(egressOnly...).egress(anyPeer()).build()),
			probes(tcp80), []string{"tcp", "egress", "allow-all"}},
		{"unset policyTypes with egress rules isolates ingress with no rule", create(
			newPolicy("x", "p", podSel("a")).egress(peers(podPeer(podSel("b")))).build()),
			probes(tcp80), []string{"tcp", "ingress", "egress", "default-deny", "pod-selector", "policy-types"}},
		{"a section policyTypes ignores still counts", create(
			newPolicy("x", "p", podSel("a")).types(egressOnly...).ingress(peers(nsPeer(exprSel("team", metav1.LabelSelectorOpExists)))).egress(anyPeer()).build()),
			probes(tcp80), []string{"tcp", "ingress", "egress", "allow-all", "namespace-selector", "match-expressions", "policy-types"}},
		{"a target's matchExpressions count", create(denyIngress("x", "d", exprSel("pod", metav1.LabelSelectorOpNotIn, "a"))),
			probes(tcp80), []string{"tcp", "ingress", "default-deny", "match-expressions"}},
		{"ipBlocks, named ports and endPort", create(
			newPolicy("x", "p", podSel("a")).types(ingressOnly...).ingress(
				peers(ipPeer(wideAround("y", "a"), hostOf("y", "a"))).on(namedPort("serve-80-tcp"), portRange(corev1.ProtocolTCP, 80, 81))).build()),
			probes(tcp80), []string{"tcp", "ingress", "ipblock", "except", "ports", "named-port", "end-port"}},
		{"two policies in force, one updated, one deleted", actions(
			create(denyIngress("x", "d", all()), denyIngress("y", "d", all())),
			one(update(denyIngress("x", "d", podSel("a")))),
			one(deletePolicy("y", "d"))),
			probes(tcp80), []string{"tcp", "ingress", "default-deny", "multiple-policies", "update", "delete"}},
		{"two policies one after the other are not multiple", actions(
			create(denyIngress("x", "d", all())), one(deletePolicy("x", "d")), create(denyIngress("y", "d", all()))),
			probes(tcp80), []string{"tcp", "ingress", "default-deny", "delete"}},
		{"pod and namespace lifecycle", actions(
			create(denyIngress("x", "d", all())),
			one(setPodLabels("x", "a", "pod", "z")), one(setNamespaceLabels("y", "team", "red")),
			one(createPod(model.Pod{Namespace: "y", Name: "h", HostNetwork: true})), one(deletePod("y", "a"))),
			probes(tcp80), []string{"tcp", "ingress", "default-deny", "pod-relabel", "namespace-relabel", "create-pod", "delete-pod", "host-network"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Case{Name: tc.name, Topology: topo, Steps: []Step{{Name: "one", Actions: tc.actions, Probes: tc.probes}}}
			if got := DeriveFeatures(c); !slices.Equal(got, tc.want) {
				t.Errorf("DeriveFeatures = %v, want %v", got, tc.want)
			}
		})
	}
}
