package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

const policyA = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 80
      endPort: 81
`

func TestParsePoliciesOrigins(t *testing.T) {
	data := "---\n" + policyA + "---\n# only a comment\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- metadata: {name: b, namespace: y}\n  spec: {podSelector: {}}\n- metadata: {name: c, namespace: z}\n  spec: {podSelector: {}}\n"
	ps, err := ParsePolicies("in.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key    string
		origin string
	}{
		{"x/a", "in.yaml: document 1 (line 2)"},
		{"y/b", "in.yaml: document 3, item 0 (line 17)"},
		{"z/c", "in.yaml: document 3, item 1 (line 19)"},
	}
	if len(ps) != len(want) {
		t.Fatalf("%d policies, want %d", len(ps), len(want))
	}
	for i, w := range want {
		if got := model.PolicyKey(ps[i].NetworkPolicy); got != w.key {
			t.Errorf("policy %d = %s, want %s", i, got, w.key)
		}
		if got := ps[i].Origin.String(); got != w.origin {
			t.Errorf("policy %s origin %q, want %q", w.key, got, w.origin)
		}
	}
	if end := ps[0].Spec.Ingress[0].Ports[0].EndPort; end == nil || *end != 81 {
		t.Errorf("endPort not decoded: %v", end)
	}
	if line := ps[0].FieldLine("spec.ingress[0].ports[0].endPort"); line != 10 {
		t.Errorf("line of endPort = %d, want 10", line)
	}
}

func TestParsePoliciesJSONStream(t *testing.T) {
	data := `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"a","namespace":"x"},"spec":{"podSelector":{}}}

{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"b","namespace":"x"},"spec":{"podSelector":{}}}]}
`
	ps, err := ParsePolicies("in.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Origin.String() != "in.json: document 2, item 0 (line 3)" {
		t.Fatalf("got %d policies, second origin %v", len(ps), ps[len(ps)-1].Origin)
	}
}

func TestLoadPoliciesErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		paths []string
		data  string
		want  string
	}{
		"directory without manifests":            {paths: []string{dir}, want: dir + ": directory has no .yaml"},
		"missing file":                           {paths: []string{filepath.Join(dir, "nope.yaml")}, want: "nope.yaml: no such file"},
		"kind Deployment":                        {data: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n", want: "stdin: document 1 (line 1): kind Deployment (apiVersion apps/v1) is not a NetworkPolicy"},
		"no kind":                                {data: "metadata: {name: d}\n", want: "stdin: document 1 (line 1): no kind"},
		"List of Pods":                           {data: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n", want: "stdin: document 1, item 0 (line 4): kind Pod"},
		"NetworkPolicyList item of another kind": {data: "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n- {apiVersion: v1, kind: Pod}\n", want: "item 0 (line 4): kind Pod"},
		"string port with endPort":               {data: strings.Replace(policyA, "port: 80", "port: \"80x\"", 1), want: ""},
		"integer where string goes":              {data: strings.Replace(policyA, "name: a", "name: 7", 1), want: "field metadata.name: cannot use a number here"},
	} {
		t.Run(name, func(t *testing.T) {
			paths := c.paths
			if paths == nil {
				paths = []string{"-"}
			}
			_, err := LoadPolicies(strings.NewReader(c.data), paths...)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			var e *Error
			var fe *FileError
			if !errors.As(err, &e) && !errors.As(err, &fe) {
				t.Errorf("error %T is neither *Error nor *FileError", err)
			}
		})
	}
}

func TestCheckPointsAtTheField(t *testing.T) {
	bad := strings.Replace(policyA, "endPort: 81", "endPort: 79", 1)
	ps, err := ParsePolicies("bad.yaml", []byte(policyA+"---\n"+bad))
	if err == nil {
		err = Check(model.DefaultTopology(), ps)
	}
	want := "bad.yaml: document 2 (line 19): policy x/a: spec.ingress[0].ports[0].endPort"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestParseTopology(t *testing.T) {
	topo, err := ParseTopology("topo.yaml", []byte(`namespaces:
  x: {labels: {team: blue}}
pods:
  - {namespace: x, name: a, labels: {pod: a}, node: node-1, ip: 10.244.1.10,
     ports: [{name: serve-80-tcp, port: 80, protocol: TCP}, {port: 81, protocol: UDP}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := topo.PortProtocols(); len(got) != 2 || got[0].String() != "80/TCP" || got[1].String() != "81/UDP" {
		t.Errorf("ports %v", got)
	}
	for name, c := range map[string]struct{ data, want string }{
		"two documents":       {"namespaces: {x: {}}\n---\nnamespaces: {y: {}}\n", "exactly one document, found 2"},
		"duplicate pod":       {"namespaces: {x: {}}\npods:\n- {namespace: x, name: a}\n- {namespace: x, name: a}\n", "(line 4): topology: pods[1]: duplicate pod x/a"},
		"bad namespace name":  {"namespaces: {X_1: {}}\n", "(line 1): topology: namespaces.X_1: invalid namespace name"},
		"bad port protocol":   {"namespaces: {x: {}}\npods:\n- {namespace: x, name: a, ports: [{port: 80, protocol: ICMP}]}\n", "(line 3): topology: pods[0].ports[0].protocol"},
		"duplicate port name": {"namespaces: {x: {}}\npods:\n- namespace: x\n  name: a\n  ports:\n  - {name: web, port: 80}\n  - {name: web, port: 81}\n", "(line 7): topology: pods[0].ports[1].name"},
		"unknown node":        {"namespaces: {x: {}}\nnodes: [{name: n1}]\npods:\n- {namespace: x, name: a, node: n2}\n", "unknown node \"n2\""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTopology("t.yaml", []byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}
