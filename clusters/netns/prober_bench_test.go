package netns

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// BenchmarkProbeRound measures one round of the full default matrix (9 pods,
// 486 cells) through the agents' control sockets, and through one
// `probe batch` process per source pod (`ip netns exec` of this binary
// re-exec'd as the probe command), the way an exec-based prober works.
func BenchmarkProbeRound(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("the netns cluster needs root: run as root")
	}
	ctx := context.Background()
	c, err := Create(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Destroy(context.Background()) })
	if err := c.Deploy(ctx, model.DefaultTopology()); err != nil {
		b.Fatal(err)
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cells := fullMatrix(topo)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	perProcess := matrix.CommandProber{Command: func(source string) ([]string, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		rt, ok := c.pods[source]
		if !ok {
			return nil, fmt.Errorf("no pod %s", source)
		}
		return []string{"ip", "netns", "exec", rt.netns.NetNS, "env", agentEnv + "=" + c.prefix, exe, "batch"}, nil
	}}
	for _, bc := range []struct {
		name   string
		prober matrix.Prober
	}{
		{"control-socket", c.Prober()},
		{"process-per-batch", perProcess},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				obs, err := matrix.Run(ctx, bc.prober, cells)
				if err != nil {
					b.Fatal(err)
				}
				for _, k := range obs.Keys() {
					if r := obs.Results[k]; r.Outcome != agent.Connected {
						b.Fatalf("%s: %s %s", k, r.Outcome, r.Error)
					}
				}
			}
		})
	}
}
