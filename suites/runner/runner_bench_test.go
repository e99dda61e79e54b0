package runner

import (
	"context"
	"os"
	"testing"

	"github.com/netpolcheck/netpolcheck/reports/result"

	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// BenchmarkCase runs one library case end to end (reset, actions, rounds
// until stable convergence) on a netns cluster with the reference enforcer.
func BenchmarkCase(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("the runner benchmarks use a netns cluster: run as root")
	}
	ctx := context.Background()
	c, err := netns.Create(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Destroy(context.Background()) })
	if err := c.InstallEnforcer(ctx, "reference"); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{
		"upstream tcp: should support a 'default-deny-ingress' policy",
		"upstream tcp: should enforce policy based on Ports",
	} {
		tc, err := cases.ByName(name)
		if err != nil {
			b.Fatal(err)
		}
		r := New(c)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if res := r.Run(ctx, tc); !res.Passed {
					b.Fatal(result.Describe(res))
				}
			}
		})
	}
}
