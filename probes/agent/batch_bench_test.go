package agent_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// batchSize is one source pod's row in a large round: 81 targets x 2 ports
// x 3 protocols.
const batchSize = 486

// BenchmarkBatch486 runs `probe batch` with 486 probes (TCP, UDP and SCTP
// alike, ports 80 and 81) from one namespace against a target that accepts
// (the baseline), one that REJECTs with admin-prohibited and one that DROPs,
// with a 1 s probe timeout. Each op (ns/op) is one whole batch's wall time, process start
// included. "x-baseline" is the op time over the accepting baseline's,
// measured in the same process. Goals: reject <= 1 s, drop <= 1.5 s.
func BenchmarkBatch486(b *testing.B) {
	agenttest.RequireRoot(b)
	sw := agenttest.NewSwitch(b)
	client := agenttest.Namespace(b, "h3bc")
	sw.Attach(b, client, "10.34.0.1/24")
	targets := map[string]string{"accept": "10.34.0.2", "reject": "10.34.0.3", "drop": "10.34.0.4"}
	for _, name := range []string{"accept", "reject", "drop"} {
		ns := agenttest.Namespace(b, "h3b"+name[:1])
		sw.Attach(b, ns, targets[name]+"/24")
		agenttest.NoICMPRateLimit(b, ns)
		agenttest.Serve(b, probeBin, ns, "bench/"+name, "80,81")
		for _, proto := range []string{"tcp", "udp", "sctp"} {
			switch name {
			case "reject":
				agenttest.IPTables(b, ns, false, "-A", "INPUT", "-p", proto, "-j", "REJECT", "--reject-with", "icmp-admin-prohibited")
			case "drop":
				agenttest.IPTables(b, ns, false, "-A", "INPUT", "-p", proto, "-j", "DROP")
			}
		}
	}
	probesTo := func(ip string) []agent.Probe {
		protocols := []string{agent.TCP, agent.UDP, agent.SCTP}
		probes := make([]agent.Probe, batchSize)
		for i := range probes {
			port := 80 + i%2
			probes[i] = agent.Probe{ID: strconv.Itoa(i), To: net.JoinHostPort(ip, strconv.Itoa(port)),
				Protocol: protocols[(i/2)%3], Timeout: time.Second}
		}
		return probes
	}
	runOnce := func(b *testing.B, probes []agent.Probe, want agent.Outcome) time.Duration {
		start := time.Now()
		results, err := agenttest.Batch(context.Background(), probeBin, client, probes)
		elapsed := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(results) != len(probes) {
			b.Fatalf("%d results for %d probes", len(results), len(probes))
		}
		counts := map[agent.Outcome]int{}
		for _, r := range results {
			counts[r.Outcome]++
		}
		if counts[want] != len(probes) {
			b.Fatalf("outcomes %v, want all %d %s", counts, len(probes), want)
		}
		return elapsed
	}

	// The baseline, measured once in this process for the ratios.
	accept := probesTo(targets["accept"])
	runOnce(b, accept, agent.Connected) // warm caches
	var baseline time.Duration
	const baselineRuns = 3
	for range baselineRuns {
		baseline += runOnce(b, accept, agent.Connected)
	}
	baseline /= baselineRuns

	for _, bc := range []struct {
		name string
		want agent.Outcome
	}{
		{"accept", agent.Connected},
		{"reject", agent.Rejected},
		{"drop", agent.Timeout},
	} {
		probes := probesTo(targets[bc.name])
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				total += runOnce(b, probes, bc.want)
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(baseline), "x-baseline")
		})
	}
	fmt.Printf("baseline (accepting target, %d probes): %v per batch\n", batchSize, baseline)
}
