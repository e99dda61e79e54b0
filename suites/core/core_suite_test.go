package core

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// imagesEnv is the directory of probe.tar and enforcer.tar (kind loads
	// them); default _output/images.
	imagesEnv = "NETPOLCHECK_IMAGES"
	// nodeImageEnv names a kind node image to use instead of building one.
	nodeImageEnv = "NETPOLCHECK_NODE_IMAGE"
	// kindConfigEnv replaces the kind cluster configuration.
	kindConfigEnv = "NETPOLCHECK_KIND_CONFIG"
	// keepEnv=1 keeps a kind cluster after the suite (its kubeconfig is
	// printed), for `netpolcheck run --cluster existing` against it.
	keepEnv = "NETPOLCHECK_KEEP"
	// deadlineEnv overrides the convergence deadline (a Go duration).
	deadlineEnv = "NETPOLCHECK_DEADLINE"
	// nodesEnv is the number of nodes (netns) or workers (kind) to create.
	nodesEnv = "NETPOLCHECK_NODES"
	// enforcerManifestsEnv names the directory of a user's plugin
	// manifests; it makes the enforcer under test "manifests".
	enforcerManifestsEnv = "NETPOLCHECK_ENFORCER_MANIFESTS"
	// loadImagesEnv lists image tarballs (separated by spaces) loaded into
	// every kind node: the plugin's images.
	loadImagesEnv = "NETPOLCHECK_LOAD_IMAGES"
	// cniEnv is builtin (default) or manifests (the plugin is the CNI).
	cniEnv = "NETPOLCHECK_CNI"
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
	manifests := os.Getenv(enforcerManifestsEnv)
	if manifests != "" {
		if enforcer != clusters.EnforcerReference && enforcer != clusters.EnforcerManifests {
			Fail(fmt.Sprintf("%s=%s and %s=%s: a plugin's manifests are the enforcer under test; leave %s unset", enforcerManifestsEnv, manifests, enforcerEnv, enforcer, enforcerEnv))
		}
		enforcer = clusters.EnforcerManifests
	}
	if provider == "netns" && os.Geteuid() != 0 {
		Fail("the netns cluster creates network namespaces and iptables rules: run the suite as root, " +
			"e.g. sudo -E env PATH=$PATH go test ./suites/...")
	}
	start := time.Now()
	cluster, err := clusters.Create(ctx, provider,
		clusters.WithLogger(slog.New(slog.NewTextHandler(GinkgoWriter, nil))),
		clusters.WithImagesDir(envOr(imagesEnv, filepath.Join(moduleRoot(), "_output", "images"))),
		clusters.WithNodeImage(os.Getenv(nodeImageEnv)),
		clusters.WithKindConfig(os.Getenv(kindConfigEnv)),
		clusters.WithKubeconfig(os.Getenv("KUBECONFIG"), ""),
		clusters.WithNodes(nodes()),
		clusters.WithEnforcerManifests(manifests),
		clusters.WithLoadImages(strings.Fields(os.Getenv(loadImagesEnv))...),
		clusters.WithCNI(os.Getenv(cniEnv)))
	Expect(err).NotTo(HaveOccurred(), "create the %s cluster (%s=%s)", provider, clusterEnv, provider)
	DeferCleanup(func(ctx SpecContext) {
		if os.Getenv(keepEnv) == "1" {
			if k, ok := cluster.(interface {
				Kubeconfig() string
				Release(context.Context) error
			}); ok {
				Expect(k.Release(ctx)).To(Succeed())
				fmt.Printf("netpolcheck: kept cluster %s; KUBECONFIG=%s\n", cluster.Name(), k.Kubeconfig())
				return
			}
		}
		Expect(cluster.Destroy(ctx)).To(Succeed())
	}, NodeTimeout(5*time.Minute))
	phase("cluster %s (%s) created", start, cluster.Name(), provider)
	start = time.Now()
	Expect(cluster.InstallEnforcer(ctx, enforcer)).To(Succeed(), "install the %s enforcer (%s)", enforcer, enforcerEnv)
	phase("enforcer %s installed", start, enforcer)
	deadline := 10 * time.Second
	if d := os.Getenv(deadlineEnv); d != "" {
		deadline, err = time.ParseDuration(d)
		Expect(err).NotTo(HaveOccurred(), "%s=%s", deadlineEnv, d)
	}
	suiteRunner = runner.New(cluster, runner.WithProbeTimeout(time.Second), runner.WithDeadline(deadline))
	// Only the enforcer under test may filter, and it must be seen to.
	start = time.Now()
	pf, err := suiteRunner.Preflight(ctx, enforcer != clusters.EnforcerNone)
	Expect(err).NotTo(HaveOccurred(), "preflight\n%s", runner.Describe(pf.Case))
	if enforcer == clusters.EnforcerNone {
		phase("preflight passed (the canary policy changed nothing: nothing enforces)", start)
	} else {
		phase("preflight passed (canary policy enforced in %s)", start, pf.CanaryEnforcedIn.Round(time.Millisecond))
	}
	if path := os.Getenv(resultsEnv); path != "" {
		f, err := os.Create(path)
		Expect(err).NotTo(HaveOccurred(), "%s=%s", resultsEnv, path)
		resultsFile = f
		DeferCleanup(f.Close)
	}
}, NodeTimeout(60*time.Minute))

var _ = AfterSuite(func() {
	fmt.Fprintf(GinkgoWriter, "cell-rounds: %d leaked before convergence, %d unproven (did not connect while the path or the server was not proven up)\n",
		totals.LeakRounds, totals.UnprovenRounds)
})

// phase prints one line per phase of the set-up with its duration (shown
// by go test -v, as make conformance runs it).
func phase(format string, start time.Time, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Printf("netpolcheck: %s in %s\n", line, time.Since(start).Round(time.Millisecond))
	GinkgoWriter.Println(line)
}

// nodes reads nodesEnv; 0 leaves the provider's default.
func nodes() int {
	n, err := strconv.Atoi(os.Getenv(nodesEnv))
	if err != nil {
		return 0
	}
	return n
}

// moduleRoot is the repository root: two levels above this package.
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return filepath.Join(wd, "..", "..")
}

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
