package core

import (
	"encoding/json"
	"fmt"
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
	cluster, err := clusters.Create(ctx, provider, clusters.WithLogf(GinkgoWriter.Printf))
	Expect(err).NotTo(HaveOccurred(), "create the %s cluster (%s=%s)", provider, clusterEnv, provider)
	DeferCleanup(func(ctx SpecContext) {
		Expect(cluster.Destroy(ctx)).To(Succeed())
	}, NodeTimeout(time.Minute))
	Expect(cluster.InstallEnforcer(ctx, enforcer)).To(Succeed(), "install the %s enforcer (%s)", enforcer, enforcerEnv)
	suiteRunner = runner.New(cluster, runner.WithProbeTimeout(time.Second), runner.WithDeadline(10*time.Second))
	if path := os.Getenv(resultsEnv); path != "" {
		f, err := os.Create(path)
		Expect(err).NotTo(HaveOccurred(), "%s=%s", resultsEnv, path)
		resultsFile = f
		DeferCleanup(f.Close)
	}
	GinkgoWriter.Printf("cluster %s (%s) with enforcer %s ready in %s\n", cluster.Name(), provider, enforcer, time.Since(start).Round(time.Millisecond))
}, NodeTimeout(2*time.Minute))

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
	if resultsFile == nil {
		return
	}
	line, err := json.Marshal(res)
	Expect(err).NotTo(HaveOccurred())
	_, err = fmt.Fprintf(resultsFile, "%s\n", line)
	Expect(err).NotTo(HaveOccurred())
}
