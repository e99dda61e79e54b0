package agent_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// TestRepliesAreTrackedAsEstablished puts a stateful firewall in the
// client namespace: replies from port 80 pass only as conntrack
// ESTABLISHED, everything else from it is dropped. A probe then connects
// only if conntrack tracked the exchange; for raw SCTP that proves the
// INIT / INIT-ACK / ABORT packets are valid enough (checksum, tags) for
// netfilter's SCTP conntrack. No packet may be INVALID on either side.
// Clause: DESIGN "Probes" (SCTP over raw sockets must behave under
// iptables rules like a kernel SCTP stack) and NP-BOTH (replies of an
// allowed connection are allowed).
func TestRepliesAreTrackedAsEstablished(t *testing.T) {
	agenttest.RequireRoot(t)
	client, server := agenttest.Namespace(t, "h3kc"), agenttest.Namespace(t, "h3ks")
	agenttest.Link(t, client, server, "10.32.0.1/30", "10.32.0.2/30")
	for _, ns := range []string{client, server} {
		agenttest.IPTables(t, ns, false, "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-m", "comment", "--comment", "invalid")
	}
	for _, proto := range []string{"tcp", "udp", "sctp"} {
		agenttest.IPTables(t, client, false, "-A", "INPUT", "-p", proto, "--sport", "80", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-m", "comment", "--comment", "established-"+proto, "-j", "ACCEPT")
		agenttest.IPTables(t, client, false, "-A", "INPUT", "-p", proto, "--sport", "80", "-j", "DROP")
	}
	agenttest.Serve(t, probeBin, server, "x/a", "80")

	var probes []agent.Probe
	for _, proto := range []string{agent.TCP, agent.UDP, agent.SCTP} {
		probes = append(probes, agent.Probe{ID: proto, To: net.JoinHostPort("10.32.0.2", "80"), Protocol: proto, Timeout: time.Second, Expect: "x/a"})
	}
	results, err := agenttest.Batch(context.Background(), probeBin, client, probes)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		if r := results[p.ID]; r.Outcome != agent.Connected {
			t.Errorf("%s through a stateful firewall: outcome %q (%s), want connected: replies not tracked as ESTABLISHED", p.ID, r.Outcome, r.Error)
		}
		if n := agenttest.RuleCounter(t, client, "established-"+strings.ToLower(p.ID)); n == 0 {
			t.Errorf("%s: no reply matched ctstate ESTABLISHED", p.ID)
		}
	}
	for _, ns := range []string{client, server} {
		if n := agenttest.RuleCounter(t, ns, "invalid"); n != 0 {
			t.Errorf("%d packets were conntrack INVALID in %s", n, ns)
		}
	}
}
