package agent_test

import (
	"context"
	"fmt"
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

// TestProbesDoNotRideEarlierFlows: a probe is a new flow even right after
// an earlier probe of the same cell connected. The server's namespace first
// lets everything in; once a probe of each protocol has connected, it
// accepts only packets conntrack files as ESTABLISHED (as an enforcer does
// before it looks at policies) and drops the rest. Every later probe must
// then time out: one that connects reused an earlier probe's 5-tuple and
// rode its conntrack entry. Each batch is a new process, as one exec per
// batch is on a real cluster (TestSourcePortsNeverRepeatForADestination
// covers probes of one process). The client's kernel is left a single
// ephemeral port, so a probe that let the kernel choose would reuse it
// every time (raw SCTP always chose its own).
// Clause: DESIGN "Probes" (every probe is a new flow; a leak must be the
// enforcer's, never the harness's).
func TestProbesDoNotRideEarlierFlows(t *testing.T) {
	agenttest.RequireRoot(t)
	client, server := agenttest.Namespace(t, "h3rc"), agenttest.Namespace(t, "h3rs")
	agenttest.Link(t, client, server, "10.33.0.1/30", "10.33.0.2/30")
	agenttest.Run(t, "ip", "netns", "exec", client, "sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40000")
	agenttest.Serve(t, probeBin, server, "x/a", "80")

	probesOf := func(timeout time.Duration) []agent.Probe {
		var probes []agent.Probe
		for _, proto := range []string{agent.UDP, agent.SCTP} {
			probes = append(probes, agent.Probe{ID: proto, To: net.JoinHostPort("10.33.0.2", "80"), Protocol: proto, Timeout: timeout, Expect: "x/a"})
		}
		return probes
	}
	run := func(round string, want agent.Outcome, timeout time.Duration) {
		t.Helper()
		results, err := agenttest.Batch(context.Background(), probeBin, client, probesOf(timeout))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probesOf(timeout) {
			if r := results[p.ID]; r.Outcome != want {
				t.Errorf("%s, %s: outcome %q (%s), want %q", round, p.ID, r.Outcome, r.Error, want)
			}
		}
	}
	// The ESTABLISHED rule goes in first: conntrack tracks a namespace's
	// flows only once one of its rules asks for it.
	for _, proto := range []string{"udp", "sctp"} {
		agenttest.IPTables(t, server, false, "-A", "INPUT", "-p", proto, "--dport", "80", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-m", "comment", "--comment", "rode-"+proto, "-j", "ACCEPT")
	}
	run("before the firewall", agent.Connected, time.Second)
	for _, proto := range []string{"udp", "sctp"} {
		agenttest.IPTables(t, server, false, "-A", "INPUT", "-p", proto, "--dport", "80", "-j", "DROP")
	}
	baseline := map[string]int{}
	for _, proto := range []string{"udp", "sctp"} {
		baseline[proto] = agenttest.RuleCounter(t, server, "rode-"+proto)
	}
	for i := range 3 {
		run(fmt.Sprintf("new process %d after the firewall", i+1), agent.Timeout, 300*time.Millisecond)
	}
	for _, proto := range []string{"udp", "sctp"} {
		if n := agenttest.RuleCounter(t, server, "rode-"+proto) - baseline[proto]; n != 0 {
			t.Errorf("%d %s packets to port 80 were ESTABLISHED after the firewall went up: a probe reused an earlier flow", n, proto)
		}
	}
}
