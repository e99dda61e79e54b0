package core

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// Environment the suite reads.
const (
	// clusterEnv selects the provider (default netns).
	clusterEnv = "NETPOLCHECK_CLUSTER"
	// enforcerEnv selects the enforcer under test (default reference).
	enforcerEnv = "NETPOLCHECK_ENFORCER"
	// resultsEnv, when set, names a file that receives one JSON CaseResult
	// per line.
	resultsEnv = "NETPOLCHECK_RESULTS"
)

// The one cluster and runner of the suite, set up in BeforeSuite.
var (
	suiteRunner *runner.Runner
	resultsFile *os.File
	// totals adds up the cases' summaries, for the suite's last line.
	totals runner.Summary
)

func TestCore(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "netpolcheck core")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	provider := envOr(clusterEnv, "netns")
	enforcer := envOr(enforcerEnv, clusters.EnforcerReference)
	if provider == "netns" && os.Geteuid() != 0 {
		Fail("the netns cluster creates network namespaces and iptables rules: run the suite as root, " +
			"e.g. sudo -E env PATH=$PATH go test ./suites/...")
	}
	start := time.Now()
	cluster, err := clusters.Create(ctx, provider, clusters.WithLogger(slog.New(slog.NewTextHandler(GinkgoWriter, nil))))
	Expect(err).NotTo(HaveOccurred(), "create the %s cluster (%s=%s)", provider, clusterEnv, provider)
	DeferCleanup(func(ctx SpecContext) {
		Expect(cluster.Destroy(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	Expect(cluster.InstallEnforcer(ctx, enforcer)).To(Succeed(), "install the %s enforcer (%s)", enforcer, enforcerEnv)
	suiteRunner = runner.New(cluster, runner.WithProbeTimeout(time.Second), runner.WithDeadline(10*time.Second))
	// Only the enforcer under test may filter, and it must be seen to.
	pf, err := suiteRunner.Preflight(ctx, enforcer != clusters.EnforcerNone)
	Expect(err).NotTo(HaveOccurred(), "preflight\n%s", runner.Describe(pf.Case))
	GinkgoWriter.Printf("preflight passed in %s; canary policy enforced in %s\n", pf.Duration.Round(time.Millisecond), pf.CanaryEnforcedIn.Round(time.Millisecond))
	if path := os.Getenv(resultsEnv); path != "" {
		f, err := os.Create(path)
		Expect(err).NotTo(HaveOccurred(), "%s=%s", resultsEnv, path)
		resultsFile = f
		DeferCleanup(f.Close)
	}
	GinkgoWriter.Printf("cluster %s (%s) with enforcer %s ready in %s\n", cluster.Name(), provider, enforcer, time.Since(start).Round(time.Millisecond))
}, NodeTimeout(2*time.Minute))

var _ = AfterSuite(func() {
	fmt.Fprintf(GinkgoWriter, "cell-rounds: %d leaked before convergence, %d unproven (did not connect while the path or the server was not proven up)\n",
		totals.LeakRounds, totals.UnprovenRounds)
})

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// record keeps a case's result: in the Ginkgo report (JSON) and, if asked,
// in the results file.
func record(res runner.CaseResult) {
	AddReportEntry("result", res, ReportEntryVisibilityNever)
	t := res.Totals()
	totals.LeakRounds += t.LeakRounds
	totals.UnprovenRounds += t.UnprovenRounds
	if resultsFile == nil {
		return
	}
	line, err := json.Marshal(res)
	Expect(err).NotTo(HaveOccurred())
	_, err = fmt.Fprintf(resultsFile, "%s\n", line)
	Expect(err).NotTo(HaveOccurred())
}
