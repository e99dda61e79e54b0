package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplainDefaultDenyIngress(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deny.yaml": denyIngressY})
	stdout, stderr, code := runNetpolcheck(t, "", "explain", "--from", "x/a", "--to", "y/b", "--port", "80", "--protocol", "TCP", "-f", filepath.Join(dir, "deny.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	first := strings.SplitN(stdout, "\n", 2)[0]
	if first != "x/a -> y/b on 80/TCP: denied" {
		t.Errorf("first line %q", first)
	}
	for _, want := range []string{
		"ingress (at y/b): denied",
		"egress (from x/a): allowed",
		"[NP-ISO] policy y/default-deny-ingress: y/b is isolated for ingress by y/default-deny-ingress",
		"[NP-RULE] no rule admits x/a on 80/TCP for ingress",
		"[NP-BOTH]",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explanation lacks %q:\n%s", want, stdout)
		}
	}
}

func TestExplainNamesRulePeerAndPort(t *testing.T) {
	dir := writeFiles(t, map[string]string{"allow.yaml": denyIngressY + "---\n" + allowFromXtoYB})
	stdout, stderr, code := runNetpolcheck(t, "", "explain", "--from", "x/c", "--to", "y/b", "--port", "80", "-f", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"x/c -> y/b on 80/TCP: allowed",
		"[NP-PORT] policy y/allow-x rule 0 port 0:",
		"[NP-PEER-NS] policy y/allow-x rule 0 peer 0 port 0:",
		"[NP-ADD]",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explanation lacks %q:\n%s", want, stdout)
		}
	}
	// On UDP the port does not match, and the rule says so.
	stdout, _, code = runNetpolcheck(t, "", "explain", "--from", "x/c", "--to", "y/b", "--port", "80", "--protocol", "udp", "-f", dir)
	if code != 0 || !strings.Contains(stdout, ": denied") || !strings.Contains(stdout, "no port matches 80/UDP") {
		t.Errorf("UDP explanation (exit %d):\n%s", code, stdout)
	}
}

func TestExplainFromNodeAddress(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deny.yaml": denyIngressY})
	// y/b runs on node-1 (172.18.0.2) in the default topology.
	stdout, stderr, code := runNetpolcheck(t, "", "explain", "--from", "172.18.0.2", "--to", "y/b", "--port", "81", "-f", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, ": allowed") || !strings.Contains(stdout, "[NP-NODE]") {
		t.Errorf("node traffic explanation:\n%s", stdout)
	}
}

// explain -o json names its cell and uses table -o json's value types.
func TestExplainJSONNamesTheCellLikeTable(t *testing.T) {
	dir := writeFiles(t, map[string]string{"allow.yaml": denyIngressY + "---\n" + allowFromXtoYB})
	stdout, stderr, code := runNetpolcheck(t, "", "explain", "-o", "json", "--from", "x/c", "--to", "y/b", "--port", "80/TCP", "-f", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var v struct {
		From, To, Protocol       string
		Port                     int
		Ingress, Egress, Allowed any
		Reasons                  []map[string]any
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if v.From != "x/c" || v.To != "y/b" || v.Port != 80 || v.Protocol != "TCP" || v.Ingress != true || v.Egress != true || v.Allowed != true {
		t.Errorf("cell %+v", v)
	}
	if len(v.Reasons) == 0 {
		t.Fatal("no reasons")
	}
	for _, r := range v.Reasons {
		for _, key := range []string{"rule", "peer", "portIndex"} {
			if n, ok := r[key].(float64); ok && n < 0 {
				t.Errorf("reason %v carries a placeholder %s", r, key)
			}
		}
		if d, ok := r["direction"]; ok && d != "ingress" && d != "egress" {
			t.Errorf("reason %v: direction %v", r, d)
		}
	}
	// The same cell from table -o json agrees value for value.
	tableOut, _, _ := runNetpolcheck(t, "", "table", "-o", "json", "--port", "80/TCP", "-f", dir)
	var table jsonTable
	if err := json.Unmarshal([]byte(tableOut), &table); err != nil {
		t.Fatal(err)
	}
	for _, c := range table.Cells {
		if c.From == "x/c" && c.To == "y/b" && (c.Allowed != v.Allowed || c.Ingress != v.Ingress || c.Egress != v.Egress) {
			t.Errorf("table says %+v, explain says %+v", c, v)
		}
	}
	// Denied is false, not the string "denied".
	stdout, _, _ = runNetpolcheck(t, "", "explain", "-o", "json", "--from", "x/c", "--to", "y/b", "--port", "80/UDP", "-f", dir)
	if !strings.Contains(stdout, `"allowed": false`) || !strings.Contains(stdout, `"protocol": "UDP"`) {
		t.Errorf("denied cell:\n%s", stdout)
	}
}

// One spelling of port and protocol in every command.
func TestPortSpellings(t *testing.T) {
	dir := writeFiles(t, map[string]string{"allow.yaml": denyIngressY + "---\n" + allowFromXtoYB})
	for _, args := range [][]string{
		{"--port", "80/UDP"}, {"--port", "80/udp"}, {"--port", "80", "--protocol", "UDP"}, {"--port", "80/UDP", "--protocol", "udp"},
	} {
		stdout, stderr, code := runNetpolcheck(t, "", append([]string{"explain", "--from", "x/c", "--to", "y/b", "-f", dir}, args...)...)
		if code != 0 || !strings.HasPrefix(stdout, "x/c -> y/b on 80/UDP: denied") {
			t.Errorf("explain %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
		stdout, stderr, code = runNetpolcheck(t, "", append([]string{"table", "-f", dir}, args...)...)
		if code != 0 || !strings.HasPrefix(stdout, "80/UDP x/a ") || strings.Contains(stdout, "80/TCP") {
			t.Errorf("table %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	stdout, _, code := runNetpolcheck(t, "", "table", "--protocol", "sctp")
	if code != 0 || !strings.HasPrefix(stdout, "80/SCTP x/a ") || !strings.Contains(stdout, "\n81/SCTP x/a ") || strings.Contains(stdout, "TCP") {
		t.Errorf("table --protocol sctp: exit %d\n%s", code, stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "--from", "x/a", "--to", "y/b", "--port", "80/UDP", "--protocol", "TCP"}, "--port 80/UDP and --protocol TCP disagree"},
		{[]string{"explain", "--from", "x/a", "--to", "y/b", "--port", "http"}, `--port "http": want N or N/PROTOCOL`},
		{[]string{"explain", "--from", "x/a", "--to", "y/b", "--port", "70000"}, `--port "70000"`},
		{[]string{"table", "--port", "80", "--protocol", "ICMP"}, `--protocol "ICMP": want TCP, UDP or SCTP`},
		{[]string{"explain", "--from", "x/a", "--to", "y/b"}, `required flag(s) "port" not set`},
	} {
		oneLineExit(t, exitBadInput, c.want, c.args...)
	}
}

// Selectors that match nothing and named ports nobody declares are warned
// about on stderr; the command still succeeds.
func TestTableAndExplainWarnAboutSelectorsThatMatchNothing(t *testing.T) {
	policy := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: y}
spec:
  podSelector: {matchLabels: {pod: d}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: q}}
    - namespaceSelector: {matchLabels: {ns: x}}
      podSelector: {matchLabels: {pod: zz}}
    - podSelector: {matchLabels: {pod: a}}
    ports:
    - port: serve-80-tcp
    - port: web
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8}
    ports:
    - {port: serve-80-udp, protocol: TCP}
`
	dir := writeFiles(t, map[string]string{"typo.yaml": policy})
	want := []string{
		"netpolcheck: warning: policy y/typo: spec.podSelector {pod=d} selects no pod in namespace y\n",
		"netpolcheck: warning: policy y/typo: spec.ingress[0].from[0].namespaceSelector {ns=q} matches no namespace of the topology\n",
		"netpolcheck: warning: policy y/typo: spec.ingress[0].from[1].podSelector {pod=zz} matches no pod in the namespaces it selects (x)\n",
		"netpolcheck: warning: policy y/typo: spec.ingress[0].ports[1]: no pod of the topology declares a port named \"web\" for TCP\n",
		"netpolcheck: warning: policy y/typo: spec.egress[0].ports[0]: no pod of the topology declares a port named \"serve-80-udp\" for TCP\n",
	}
	for _, args := range [][]string{
		{"table", "--port", "80", "-f", dir},
		{"explain", "--from", "x/a", "--to", "y/a", "--port", "80", "-f", dir},
	} {
		stdout, stderr, code := runNetpolcheck(t, "", args...)
		if code != 0 || stdout == "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
		if stderr != strings.Join(want, "") {
			t.Errorf("%v: warnings\n%s\nwant\n%s", args, stderr, strings.Join(want, ""))
		}
	}
	// Policies whose selectors all match say nothing.
	_, stderr, _ := runNetpolcheck(t, "", "table", "-f", writeFiles(t, map[string]string{"ok.yaml": denyIngressY + "---\n" + allowFromXtoYB}))
	if stderr != "" {
		t.Errorf("warnings for matching selectors: %q", stderr)
	}
}
