package cases

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Every state of every case, rendered as manifests and read back, is the
// same state: the YAML carries everything the model decides by.
func TestManifestsRoundTripEveryStepOfEveryCase(t *testing.T) {
	for _, c := range All() {
		states, err := Replay(c, nil)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if len(states) != len(c.Steps)+1 {
			t.Errorf("%s: %d states for %d steps", c.Name, len(states), len(c.Steps))
		}
		for i, want := range states {
			data, err := want.ManifestYAML()
			if err != nil {
				t.Fatalf("%s state %d: %v", c.Name, i, err)
			}
			got, err := ParseManifests("dump", data)
			if err != nil {
				t.Fatalf("%s state %d: %v\n%s", c.Name, i, err, data)
			}
			if diff := stateDifference(want, got); diff != "" {
				t.Errorf("%s state %d: read back differs: %s\n%s", c.Name, i, diff, data)
			}
		}
	}
}

// The observed addresses replace the wished ones before policies are built
// from the topology: an ipBlock policy names the address the run saw.
func TestReplayBuildsPoliciesFromObservedAddresses(t *testing.T) {
	c, err := ByName("upstream tcp: should allow egress access to server in CIDR block")
	if err != nil {
		t.Fatal(err)
	}
	observed := "10.244.2.99"
	states, err := Replay(c, map[model.PodRef]string{{Namespace: "y", Name: "b"}: observed})
	if err != nil {
		t.Fatal(err)
	}
	last := states[len(states)-1]
	data, err := last.ManifestYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cidr: " + observed + "/32", AnnotationIP + ": " + observed} {
		if !strings.Contains(string(data), want) {
			t.Errorf("manifests lack %q:\n%s", want, data)
		}
	}
}

func TestManifestShape(t *testing.T) {
	c := Case{Name: "deny ingress in x", Steps: []Step{{Actions: create(denyIngress("x", "deny", all()))}}}
	states, err := Replay(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := states[1].ManifestYAML()
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "---\n")
	if len(docs) != 3+9+1 {
		t.Fatalf("want 3 namespaces, 9 pods and 1 policy, got %d documents:\n%s", len(docs), data)
	}
	for _, c := range []struct {
		doc  int
		want []string
	}{
		{0, []string{"apiVersion: v1\n", "kind: Namespace\n", "name: x\n", "ns: x\n"}},
		{3, []string{"apiVersion: v1\n", "kind: Pod\n", "image: " + ProbeImage + "\n", "- /probe\n", "- serve\n",
			"--identity=x/a", "--ports=80,81", "--protocols=tcp,udp,sctp",
			"containerPort: 80\n", "name: serve-80-tcp\n", "protocol: SCTP\n", "pod: a\n",
			AnnotationNode + ": node-1\n", AnnotationIP + ": 10.244.1.10\n",
			"net.ipv4.ip_unprivileged_port_start", "NET_RAW"}},
		{12, []string{"apiVersion: networking.k8s.io/v1\n", "kind: NetworkPolicy\n", "podSelector: {}\n", "- Ingress\n"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(docs[c.doc], w) {
				t.Errorf("document %d lacks %q:\n%s", c.doc+1, w, docs[c.doc])
			}
		}
		for _, bad := range []string{"creationTimestamp", "status:", "resources: {}", "spec: {}"} {
			if strings.Contains(docs[c.doc], bad) {
				t.Errorf("document %d holds %q:\n%s", c.doc+1, bad, docs[c.doc])
			}
		}
	}
}

func TestParseManifestsRefusesWhatItCannotPlace(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"another kind", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "document 1 (v1 Service): want a v1 Namespace"},
		{"a misspelt field", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, lables: {a: b}}\n", `document 1 (v1 Namespace): unknown field "lables"`},
		{"a pod in no namespace given", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n", "namespace"},
		{"a policy in no namespace given", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: y}\nspec: {podSelector: {}}\n", "no such namespace"},
		{"a nameless namespace", "apiVersion: v1\nkind: Namespace\nmetadata: {labels: {a: b}}\n", "no metadata.name"},
	} {
		_, err := ParseManifests("in.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// stateDifference names the first way got differs from want, "" if none.
func stateDifference(want, got *State) string {
	if len(want.Topology.Namespaces) != len(got.Topology.Namespaces) {
		return fmt.Sprintf("namespaces %v, want %v", got.Topology.Namespaces, want.Topology.Namespaces)
	}
	for name, ns := range want.Topology.Namespaces {
		g, ok := got.Topology.Namespaces[name]
		if !ok || !equality.Semantic.DeepEqual(withoutNameLabel(ns.Labels), g.Labels) {
			return fmt.Sprintf("namespace %s: %v, want %v", name, g, ns)
		}
	}
	if len(want.Topology.Pods) != len(got.Topology.Pods) {
		return fmt.Sprintf("%d pods, want %d", len(got.Topology.Pods), len(want.Topology.Pods))
	}
	for i, w := range want.Topology.Pods {
		w = clonePod(w)
		for j := range w.Ports {
			if w.Ports[j].Protocol == "" {
				w.Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
		if w.Phase == corev1.PodRunning {
			w.Phase = ""
		}
		if g := got.Topology.Pods[i]; !equality.Semantic.DeepEqual(w, g) {
			return fmt.Sprintf("pod %d: %+v, want %+v", i, g, w)
		}
	}
	if len(want.Policies) != len(got.Policies) {
		return fmt.Sprintf("%d policies, want %d", len(got.Policies), len(want.Policies))
	}
	for i, w := range want.Policies {
		g := got.Policies[i]
		if g.Namespace != w.Namespace || g.Name != w.Name || !equality.Semantic.DeepEqual(w.Spec, g.Spec) {
			return fmt.Sprintf("policy %d: %s/%s %+v, want %s/%s %+v", i, g.Namespace, g.Name, g.Spec, w.Namespace, w.Name, w.Spec)
		}
	}
	return ""
}
