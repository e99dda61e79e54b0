package agent_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// TestSelfProbe runs a batch in the namespace that also serves, against its
// own address: the server's and the client's raw SCTP sockets then see
// each other's packets, and each must act only on its own. Clause: NP-SELF
// (a pod reaching itself on its own IP).
func TestSelfProbe(t *testing.T) {
	n := newOutcomeNet(t)
	var probes []agent.Probe
	for _, proto := range []string{agent.TCP, agent.UDP, agent.SCTP} {
		probes = append(probes,
			agent.Probe{ID: proto + "-open", To: net.JoinHostPort(n.serverIPs[false], "80"), Protocol: proto, Timeout: time.Second, Expect: "x/a"},
			agent.Probe{ID: proto + "-closed", To: net.JoinHostPort(n.serverIPs[false], "90"), Protocol: proto, Timeout: time.Second},
		)
	}
	results, err := agenttest.Batch(context.Background(), probeBin, n.server, probes)
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{agent.TCP, agent.UDP, agent.SCTP} {
		if r := results[proto+"-open"]; r.Outcome != agent.Connected || r.Identity != "x/a" {
			t.Errorf("[NP-SELF] %s to itself: outcome %q identity %q (%s), want connected x/a", proto, r.Outcome, r.Identity, r.Error)
		}
		if r := results[proto+"-closed"]; r.Outcome != agent.Refused {
			t.Errorf("[NP-SELF] %s to its own closed port: outcome %q (%s), want refused", proto, r.Outcome, r.Error)
		}
	}
}

// TestSharedNamespaceServersWithoutAbort runs two servers in one network
// namespace, as hostNetwork pods would, each on its own port: with
// --sctp-no-abort neither ABORTs the other's SCTP port, so each port is
// answered by its own server. Clause: NP-HOSTNET (hostNetwork pods share
// their node's namespace).
func TestSharedNamespaceServersWithoutAbort(t *testing.T) {
	agenttest.RequireRoot(t)
	client, node := agenttest.Namespace(t, "h3hc"), agenttest.Namespace(t, "h3hn")
	agenttest.Link(t, client, node, "10.35.0.1/30", "10.35.0.2/30")
	agenttest.Serve(t, probeBin, node, "host/one", "80", "--sctp-no-abort")
	agenttest.Serve(t, probeBin, node, "host/two", "81", "--sctp-no-abort")
	probes := []agent.Probe{
		{ID: "one", To: "10.35.0.2:80", Protocol: agent.SCTP, Timeout: time.Second, Expect: "host/one"},
		{ID: "two", To: "10.35.0.2:81", Protocol: agent.SCTP, Timeout: time.Second, Expect: "host/two"},
	}
	// Repeat: with ABORTs the first answer would be a race between the two.
	for round := range 5 {
		results, err := agenttest.Batch(context.Background(), probeBin, client, probes)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probes {
			if r := results[p.ID]; r.Outcome != agent.Connected {
				t.Fatalf("round %d: SCTP to %s: outcome %q identity %q (%s), want connected %s", round, p.To, r.Outcome, r.Identity, r.Error, p.Expect)
			}
		}
	}
}
