package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// probeTimeout is every probe's timeout in both modes: what a dropped cell
// costs.
const probeTimeout = time.Second

// BenchmarkProbeMatrix times one probe of every cell of the default matrix
// (9 pods, each to every pod on 80 and 81 over TCP, UDP and SCTP: 486
// cells) on one kind cluster, two ways: the default prober (a stream per
// source pod, the round as one batch) and the upstream e2e suite's way (one
// exec of a single connect per cell, three at a time). A default-deny
// ingress policy in x is in force, so 144 cells are denied: with a
// rejecting enforcer they fail fast, with a dropping one each waits out its
// timeout. Both modes must observe the same matrix; the per-cell
// sub-benchmark reports how many times slower it is than the batch one.
func BenchmarkProbeMatrix(b *testing.B) {
	for _, deny := range []string{"reject", "drop"} {
		b.Run(deny, func(b *testing.B) {
			ctx := context.Background()
			c, cells := denyIngressInX(b, ctx, deny)
			perCell, ok := c.(interface{ PerCellProber() matrix.Prober })
			if !ok {
				b.Fatalf("the kind cluster has no per-cell prober")
			}
			var batchPerMatrix time.Duration
			b.Run("batch", func(b *testing.B) {
				batchPerMatrix = timeMatrix(b, ctx, c.Prober(), cells)
			})
			b.Run("per-cell", func(b *testing.B) {
				perCellPerMatrix := timeMatrix(b, ctx, perCell.PerCellProber(), cells)
				ratio := float64(perCellPerMatrix) / float64(batchPerMatrix)
				b.ReportMetric(ratio, "x-batch")
				fmt.Printf("probe matrix, %s enforcer: %d cells; batch %s, per-cell %s: per-cell takes %.1fx as long\n",
					deny, len(cells), batchPerMatrix.Round(time.Millisecond), perCellPerMatrix.Round(time.Millisecond), ratio)
			})
		})
	}
}

// timeMatrix probes every cell b.N times with prober, checks each matrix,
// and returns the time one took.
func timeMatrix(b *testing.B, ctx context.Context, prober matrix.Prober, cells []matrix.Cell) time.Duration {
	b.ResetTimer()
	for range b.N {
		obs, err := matrix.Run(ctx, prober, cells, matrix.WithProbeTimeout(probeTimeout))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		checkMatrix(b, obs, cells)
		b.StartTimer()
	}
	b.StopTimer()
	perMatrix := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(perMatrix.Seconds(), "s/matrix")
	return perMatrix
}

// checkMatrix fails the benchmark unless the matrix is what a default-deny
// ingress in x gives: a fast wrong answer measures nothing.
func checkMatrix(b *testing.B, obs matrix.Observed, cells []matrix.Cell) {
	b.Helper()
	wrong := 0
	for _, cell := range cells {
		got := obs.Outcome(cell.Key())
		want := agent.Connected
		if deniedByDefaultDenyInX(cell) {
			want = ""
		}
		if (want == agent.Connected) != (got == agent.Connected) || got == agent.Error {
			if wrong++; wrong <= 5 {
				b.Errorf("%s: observed %s", cell.Key(), got)
			}
		}
	}
	if wrong > 0 {
		b.Fatalf("%d of %d cells wrong", wrong, len(cells))
	}
}

// deniedByDefaultDenyInX: every cell into x but a pod's to itself (a pod
// always reaches itself) is denied.
func deniedByDefaultDenyInX(cell matrix.Cell) bool {
	to, err := model.ParsePodRef(cell.To.Pod)
	return err == nil && to.Namespace == "x" && cell.From != cell.To.Pod
}

// denyIngressInX builds a kind cluster whose reference enforcer denies with
// deny, deploys the default topology, puts a default-deny ingress policy in
// x in force (the runner proves it converged) and returns the cluster and
// the full matrix. The cluster is deleted when the benchmark ends.
func denyIngressInX(b *testing.B, ctx context.Context, deny string) (clusters.Cluster, []matrix.Cell) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("builds a kind cluster: run as root (make bench-probe)")
	}
	images := filepath.Join(moduleRoot(b), "_output", "images")
	if _, err := os.Stat(filepath.Join(images, "probe.tar")); err != nil {
		b.Skipf("no probe image in %s: run make images (make bench-probe does)", images)
	}
	c, err := clusters.Create(ctx, "kind", clusters.WithDenyAction(deny), clusters.WithImagesDir(images))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Destroy(context.WithoutCancel(ctx)); err != nil {
			b.Error(err)
		}
	})
	if err := c.InstallEnforcer(ctx, clusters.EnforcerReference); err != nil {
		b.Fatal(err)
	}
	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "deny-ingress"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
	res := runner.New(c, runner.WithDeadline(2*time.Minute), runner.WithProbeTimeout(probeTimeout)).Run(ctx, cases.Case{
		Name:  "bench: default-deny ingress in x",
		Steps: []cases.Step{{Name: "deny ingress in x", Actions: []cases.Action{cases.CreatePolicy{Policy: policy}}}},
	})
	if !res.Passed {
		b.Fatalf("the policy did not converge: %s\n%s", res.Error, result.Describe(res))
	}
	topo, err := c.Topology(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var sources []string
	var targets []matrix.Target
	for _, p := range topo.Pods {
		sources = append(sources, p.Ref().String())
		targets = append(targets, matrix.Target{Pod: p.Ref().String(), IP: p.IP})
	}
	var ports []matrix.PortProtocol
	for _, pp := range model.DefaultPorts() {
		ports = append(ports, matrix.PortProtocol{Port: pp.Port, Protocol: string(pp.Protocol)})
	}
	return c, matrix.AllPairs(sources, targets, ports)
}

func moduleRoot(b *testing.B) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		b.Fatal("cannot locate the module root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
