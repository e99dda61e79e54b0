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

func TestExplainJSON(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deny.yaml": denyIngressY})
	stdout, stderr, code := runNetpolcheck(t, "", "explain", "-o", "json", "--from", "x/a", "--to", "y/b", "--port", "80", "-f", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var v struct {
		Allowed string
		Reasons []struct {
			Clause string
			Policy string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if v.Allowed != "denied" || len(v.Reasons) == 0 {
		t.Errorf("verdict %+v", v)
	}
}
