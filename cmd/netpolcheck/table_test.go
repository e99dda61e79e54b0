package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// runNetpolcheck runs the CLI in-process through the real root command and
// execute, as main does, and returns stdout, stderr and the exit code.
func runNetpolcheck(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var stderr bytes.Buffer
	stdout, code := runNetpolcheckContext(t, context.Background(), &stderr, stdin, args...)
	return stdout, stderr.String(), code
}

// runNetpolcheckContext runs the CLI with ctx as main's signal context
// (cancel it to interrupt) and stderr going to the given writer.
func runNetpolcheckContext(t *testing.T, ctx context.Context, stderr io.Writer, stdin string, args ...string) (string, int) {
	t.Helper()
	root := newRootCommand()
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(stderr)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	code := execute(ctx, root)
	return stdout.String(), code
}

// writeFiles creates files in a fresh directory and returns its path.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type jsonTable struct {
	Cells []struct {
		From     string `json:"from"`
		To       string `json:"to"`
		Port     int    `json:"port"`
		Protocol string `json:"protocol"`
		Ingress  any    `json:"ingress"`
		Egress   any    `json:"egress"`
		Allowed  any    `json:"allowed"`
	} `json:"cells"`
}

func TestTableNoPoliciesPrints486AllowedCells(t *testing.T) {
	stdout, stderr, code := runNetpolcheck(t, "", "table", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var table jsonTable
	if err := json.Unmarshal([]byte(stdout), &table); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if len(table.Cells) != 486 {
		t.Fatalf("%d cells, want 486 (9x9 pairs x ports 80, 81 x TCP, UDP, SCTP)", len(table.Cells))
	}
	seen := map[string]bool{}
	for _, c := range table.Cells {
		if c.Allowed != true || c.Ingress != true || c.Egress != true {
			t.Errorf("%s -> %s %d/%s not allowed: %v/%v/%v", c.From, c.To, c.Port, c.Protocol, c.Ingress, c.Egress, c.Allowed)
		}
		seen[c.Protocol] = true
	}
	if len(seen) != 3 {
		t.Errorf("protocols %v, want TCP, UDP and SCTP", seen)
	}
}

const denyIngressY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: y
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

const allowFromXtoYB = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-x
  namespace: y
spec:
  podSelector:
    matchLabels: {pod: b}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {ns: x}
    ports:
    - port: 80
`

func TestTableTextGrid(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deny.yaml": denyIngressY})
	stdout, stderr, code := runNetpolcheck(t, "", "table", "-f", filepath.Join(dir, "deny.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	grids := strings.Split(strings.TrimSpace(stdout), "\n\n")
	if len(grids) != 6 {
		t.Fatalf("%d grids, want one per port/protocol (6):\n%s", len(grids), stdout)
	}
	// The text is the one grid form, which the hand tables use too.
	g, err := result.ParseGrid(grids[0])
	if err != nil {
		t.Fatalf("first grid: %v\n%s", err, grids[0])
	}
	if g.Port.String() != "80/TCP" || len(g.Pods) != 9 || g.Pods[0].String() != "x/a" || g.Pods[8].String() != "z/c" {
		t.Errorf("first grid is %s over %v", g.Port, g.Pods)
	}
	row := func(r int) string {
		var marks []string
		for c := range g.Pods {
			marks = append(marks, g.Cell(r, c).Glyph(result.Expected))
		}
		return g.Pods[r].String() + " " + strings.Join(marks, " ")
	}
	// Row x/a: allowed to x and z, denied to y.
	if got := row(0); got != "x/a . . . X X X . . ." {
		t.Errorf("row x/a = %q", got)
	}
	// Row y/b: only itself in y.
	if got := row(4); got != "y/b . . . X . X . . ." {
		t.Errorf("row y/b = %q", got)
	}
}

func TestTableReadsDirectoriesMultiDocumentListsStdinAndJSON(t *testing.T) {
	list := `apiVersion: v1
kind: List
items:
- ` + strings.ReplaceAll(strings.TrimSpace(denyIngressY), "\n", "\n  ") + "\n"
	jsonPolicy := `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"from-z","namespace":"y"},
	"spec":{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"z"}}}]}]}}`
	dir := writeFiles(t, map[string]string{
		"a-multi.yaml": "---\n" + denyIngressY + "---\n" + allowFromXtoYB + "---\n",
		"b.json":       jsonPolicy,
		"notes.txt":    "not a manifest",
	})
	listDir := writeFiles(t, map[string]string{"list.yaml": list})
	stdout, stderr, code := runNetpolcheck(t, allowFromXtoYB, "table", "-o", "json", "--port", "80/TCP", "-f", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var table jsonTable
	if err := json.Unmarshal([]byte(stdout), &table); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"x/a y/b": true, "z/a y/b": false, "x/a y/a": false, "z/a y/c": true, "x/a y/c": false}
	for _, c := range table.Cells {
		if w, ok := want[c.From+" "+c.To]; ok && c.Allowed != w {
			t.Errorf("%s -> %s allowed %v, want %v", c.From, c.To, c.Allowed, w)
		}
	}
	if len(table.Cells) != 81 {
		t.Errorf("%d cells with --port 80/TCP, want 81", len(table.Cells))
	}
	// A List plus a policy on stdin.
	stdout, stderr, code = runNetpolcheck(t, allowFromXtoYB, "table", "-o", "json", "--port", "80/TCP", "-f", filepath.Join(listDir, "list.yaml"), "-f", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &table); err != nil {
		t.Fatal(err)
	}
	for _, c := range table.Cells {
		if c.From == "x/a" && c.To == "y/b" && c.Allowed != true {
			t.Errorf("x/a -> y/b should be allowed by the stdin policy")
		}
		if c.From == "x/a" && c.To == "y/a" && c.Allowed != false {
			t.Errorf("x/a -> y/a should be denied by the List's policy")
		}
	}
}

func TestTableTopologyFileAndUndefinedCells(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"topo.yaml": `namespaces:
  x: {labels: {team: blue}}
  y: {}
nodes:
  - {name: node-1, ips: [172.18.0.2]}
  - {name: node-2, ips: [172.18.0.3]}
pods:
  - {namespace: x, name: a, labels: {pod: a}, node: node-1, ip: 10.244.1.10,
     ports: [{name: serve-80-tcp, port: 80, protocol: TCP}]}
  - {namespace: x, name: host, labels: {pod: host}, node: node-2, hostNetwork: true,
     ports: [{name: serve-80-tcp, port: 80, protocol: TCP}]}
  - {namespace: y, name: b, labels: {pod: b}, node: node-1, ip: 10.244.1.11,
     ports: [{name: serve-80-tcp, port: 80}]}
`,
		"allow.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-blue, namespace: y}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: blue}}
`,
	})
	stdout, stderr, code := runNetpolcheck(t, "", "table", "-o", "json", "--topology", filepath.Join(dir, "topo.yaml"), "-f", filepath.Join(dir, "allow.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var table jsonTable
	if err := json.Unmarshal([]byte(stdout), &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Cells) != 9 {
		t.Fatalf("%d cells, want 9 (3x3 pairs, one port)", len(table.Cells))
	}
	for _, c := range table.Cells {
		if c.From == "x/host" && c.To == "y/b" && (c.Allowed != "undefined" || c.Ingress != "undefined") {
			t.Errorf("hostNetwork peer cell = %v/%v, want \"undefined\" (NP-HOSTNET)", c.Ingress, c.Allowed)
		}
		if c.From == "x/a" && c.To == "y/b" && c.Allowed != true {
			t.Errorf("x/a -> y/b = %v, want true", c.Allowed)
		}
	}
	stdout, _, _ = runNetpolcheck(t, "", "table", "--topology", filepath.Join(dir, "topo.yaml"), "-f", filepath.Join(dir, "allow.yaml"))
	if !strings.Contains(stdout, "?") {
		t.Errorf("text grid has no ? for the undefined cell:\n%s", stdout)
	}
}

// TestBadInputIsOneLineExit2 covers each malformed input: exit code 2, one
// line on stderr naming the file and document (and line where YAML has it).
func TestBadInputIsOneLineExit2(t *testing.T) {
	policyWith := func(spec string) string {
		return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad\n  namespace: y\nspec:\n" + spec
	}
	files := map[string]string{
		"unparsable.yaml": denyIngressY + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x\nspec: [\n",
		"pod.yaml":        denyIngressY + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
		"list-pod.yaml":   "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(denyIngressY), "\n", "\n  ") + "\n- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n",
		"cidr.yaml":       policyWith("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/33\n"),
		"except.yaml":     policyWith("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n        except:\n        - 10.1.0.0/24\n"),
		"except-eq.yaml":  policyWith("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/16\n        except: [10.0.0.0/16]\n"),
		"endport.yaml":    policyWith("  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: TCP\n      endPort: 90\n"),
		"endport-lt.yaml": policyWith("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 90\n      endPort: 80\n"),
		"named-end.yaml":  policyWith("  podSelector: {}\n  ingress:\n  - ports:\n    - port: web\n      endPort: 80\n"),
		"protocol.yaml":   policyWith("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 80\n      protocol: ICMP\n"),
		"operator.yaml":   policyWith("  podSelector:\n    matchExpressions:\n    - {key: pod, operator: Near, values: [a]}\n"),
		"unknown-ns.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: lost\n  namespace: nowhere\nspec:\n  podSelector: {}\n",
		"no-ns.yaml":      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: lost\nspec:\n  podSelector: {}\n",
		"typo.yaml":       policyWith("  podSelecter: {}\n"),
		"wrongtype.yaml":  policyWith("  podSelector: {}\n  ingress: {from: []}\n"),
		"noname.yaml":     "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: y}\nspec: {podSelector: {}}\n",
		"dup.yaml":        denyIngressY + "---\n" + denyIngressY,
		"bad.json":        `{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",` + "\n" + `"metadata": {"name": "j", "namespace": "y"}, "spec": }`,
		"scalar.yaml":     "just a string\n",
		"oldapi.yaml":     strings.Replace(denyIngressY, "networking.k8s.io/v1", "extensions/v1beta1", 1),
		"topo-ns.yaml":    "namespaces:\n  x: {}\npods:\n  - {namespace: x, name: a, ip: 10.0.0.1}\n  - {namespace: q, name: b, ip: 10.0.0.2}\n",
		"topo-ip.yaml":    "namespaces:\n  x: {}\npods:\n  - {namespace: x, name: a, ip: 10.0.0.300}\n",
		"topo-yaml.yaml":  "namespaces:\n  x: {}\n pods: [\n",
		"topo-field.yaml": "namespaces:\n  x: {}\npodz: []\n",
		"good.yaml":       denyIngressY,
	}
	dir := writeFiles(t, files)
	f := func(name string) string { return filepath.Join(dir, name) }
	explain := []string{"explain", "--port", "80", "-f", f("good.yaml")}
	for _, c := range []struct {
		name string
		args []string
		want []string // substrings of the one stderr line
	}{
		{"YAML that does not parse", []string{"table", "-f", f("unparsable.yaml")}, []string{f("unparsable.yaml"), "document 2", "yaml: line "}},
		{"kind other than NetworkPolicy", []string{"table", "-f", f("pod.yaml")}, []string{f("pod.yaml"), "document 2", "line 10", "kind Pod"}},
		{"List item of another kind", []string{"table", "-f", f("list-pod.yaml")}, []string{f("list-pod.yaml"), "document 1, item 1", "line 12", "kind Service"}},
		{"invalid CIDR", []string{"table", "-f", f("cidr.yaml")}, []string{f("cidr.yaml"), "document 1", "line 11", "y/bad", "cidr"}},
		{"except outside the cidr", []string{"table", "-f", f("except.yaml")}, []string{f("except.yaml"), "document 1", "line 13", "except[0]", "strict subset"}},
		{"except equal to the cidr", []string{"table", "-f", f("except-eq.yaml")}, []string{f("except-eq.yaml"), "document 1", "except[0]", "strict subset"}},
		{"endPort without port", []string{"table", "-f", f("endport.yaml")}, []string{f("endport.yaml"), "document 1", "line 10", "endPort"}},
		{"endPort below port", []string{"table", "-f", f("endport-lt.yaml")}, []string{f("endport-lt.yaml"), "document 1", "line 11", "endPort"}},
		{"endPort with a named port", []string{"table", "-f", f("named-end.yaml")}, []string{f("named-end.yaml"), "endPort", "named port"}},
		{"bad protocol", []string{"table", "-f", f("protocol.yaml")}, []string{f("protocol.yaml"), "line 11", "ICMP"}},
		{"bad selector operator", []string{"table", "-f", f("operator.yaml")}, []string{f("operator.yaml"), "document 1", "Near"}},
		{"unknown namespace in a policy", []string{"table", "-f", f("unknown-ns.yaml")}, []string{f("unknown-ns.yaml"), "document 1", "line 5", "unknown namespace \"nowhere\""}},
		{"policy without namespace", []string{"table", "-f", f("no-ns.yaml")}, []string{f("no-ns.yaml"), "unknown namespace \"default\""}},
		{"misspelt field", []string{"table", "-f", f("typo.yaml")}, []string{f("typo.yaml"), "document 1", "line 7", "podSelecter"}},
		{"wrong type", []string{"table", "-f", f("wrongtype.yaml")}, []string{f("wrongtype.yaml"), "document 1", "line 8", "spec.ingress", "an object"}},
		{"no name", []string{"table", "-f", f("noname.yaml")}, []string{f("noname.yaml"), "metadata.name"}},
		{"duplicate policy", []string{"table", "-f", f("dup.yaml")}, []string{f("dup.yaml"), "document 2", "defined twice"}},
		{"invalid JSON", []string{"table", "-f", f("bad.json")}, []string{f("bad.json"), "document 1", "line 2", "invalid JSON"}},
		{"document that is not an object", []string{"table", "-f", f("scalar.yaml")}, []string{f("scalar.yaml"), "document 1", "not an object"}},
		{"old apiVersion", []string{"table", "-f", f("oldapi.yaml")}, []string{f("oldapi.yaml"), "extensions/v1beta1"}},
		{"missing file", []string{"table", "-f", f("absent.yaml")}, []string{f("absent.yaml"), "no such file"}},
		{"bad YAML on stdin", []string{"table", "-f", "-"}, []string{"stdin", "document 1", "line 1"}},
		{"unknown namespace in topology", []string{"table", "--topology", f("topo-ns.yaml")}, []string{f("topo-ns.yaml"), "line 5", "unknown namespace \"q\""}},
		{"invalid IP in topology", []string{"table", "--topology", f("topo-ip.yaml")}, []string{f("topo-ip.yaml"), "line 4", "10.0.0.300"}},
		{"topology YAML that does not parse", []string{"table", "--topology", f("topo-yaml.yaml")}, []string{f("topo-yaml.yaml"), "document 1", "yaml: line "}},
		{"unknown topology field", []string{"table", "--topology", f("topo-field.yaml")}, []string{f("topo-field.yaml"), "line 3", "podz"}},
		{"unknown pod in --from", append(explain, "--from", "x/q", "--to", "y/b"), []string{"--from", "unknown pod x/q"}},
		{"unknown pod in --to", append(explain, "--from", "x/a", "--to", "y/q"), []string{"--to", "unknown pod y/q"}},
		{"unknown namespace in --from", append(explain, "--from", "w/a", "--to", "y/b"), []string{"--from", "unknown namespace \"w\""}},
		{"malformed --from", append(explain, "--from", "xa", "--to", "y/b"), []string{"--from", "namespace/name"}},
		{"bad --protocol", append(explain, "--from", "x/a", "--to", "y/b", "--protocol", "ICMP"), []string{"--protocol", "ICMP"}},
		{"bad --port on table", []string{"table", "--port", "80/XTP"}, []string{"--port", "XTP"}},
		{"bad -o", []string{"table", "-o", "xml"}, []string{"--output", "want text, json, yaml"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdin := ""
			if c.name == "bad YAML on stdin" {
				stdin = "kind: [\n"
			}
			stdout, stderr, code := runNetpolcheck(t, stdin, c.args...)
			t.Log(stderr)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr is not exactly one line: %q", stderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr has a stack trace: %q", stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout should be empty on bad input, got %q", stdout)
			}
		})
	}
}
