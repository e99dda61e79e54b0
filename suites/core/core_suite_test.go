package core

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// Environment the suite reads.
const (
	// clusterEnv selects the provider (default netns).
	clusterEnv = "NETPOLCHECK_CLUSTER"
	// enforcerEnv selects the enforcer under test (default reference).
	enforcerEnv = "NETPOLCHECK_ENFORCER"
	// reportDirEnv is the report directory (results.jsonl, junit.xml,
	// report.html, summary.md, conformance.yaml); default
	// reports/out/<run-id> at the repository root.
	reportDirEnv = "NETPOLCHECK_REPORT_DIR"
	// enforcerNameEnv, enforcerVersionEnv and enforcerURLEnv name the plugin
	// under test in the reports (with NETPOLCHECK_ENFORCER_MANIFESTS).
	enforcerNameEnv    = "NETPOLCHECK_ENFORCER_NAME"
	enforcerVersionEnv = "NETPOLCHECK_ENFORCER_VERSION"
	enforcerURLEnv     = "NETPOLCHECK_ENFORCER_URL"
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
	// recorder keeps the report directory.
	recorder *reports.Recorder
	// specsToRun is how many cases the suite will run, after its filters.
	specsToRun int
	// totals adds up the cases' summaries, for the suite's last line.
	totals result.Summary
)

func TestCore(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "netpolcheck core")
}

var _ = ReportBeforeSuite(func(r Report) { specsToRun = r.PreRunStats.SpecsThatWillRun })

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
	if (os.Getenv(enforcerNameEnv) != "" || os.Getenv(enforcerVersionEnv) != "" || os.Getenv(enforcerURLEnv) != "") && manifests == "" {
		Fail(fmt.Sprintf("%s, %s and %s name a plugin under test: they go with %s", enforcerNameEnv, enforcerVersionEnv, enforcerURLEnv, enforcerManifestsEnv))
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
	startRecording(cluster, provider, enforcer, manifests, start)
	Expect(recorder.Preflight(pf.Record(err))).To(Succeed())
	Expect(err).NotTo(HaveOccurred(), "preflight\n%s", result.Describe(pf.Case))
	if enforcer == clusters.EnforcerNone {
		phase("preflight passed (the canary policy changed nothing: nothing enforces)", start)
	} else {
		phase("preflight passed (canary policy enforced in %s)", start, pf.CanaryEnforcedIn.Round(time.Millisecond))
	}
}, NodeTimeout(60*time.Minute))

var _ = AfterSuite(func() {
	fmt.Fprintf(GinkgoWriter, "cell-rounds: %d leaked before convergence, %d unproven (did not connect while the path or the server was not proven up)\n",
		totals.LeakRounds, totals.UnprovenRounds)
	if recorder == nil {
		return
	}
	fmt.Println() // after Ginkgo's progress dots
	Expect(reports.WriteCoverage(os.Stdout, reports.Coverage(recorder.Set()))).To(Succeed())
	// A suite stopped early (interrupted, a failed BeforeSuite) has fewer
	// cases than it selected: the reports say incomplete.
	end := result.End{End: time.Now().UTC()}
	if pf := recorder.Set().Preflight; pf != nil && pf.Error != nil {
		end.Error = pf.Error
	}
	paths, err := recorder.Finish(end)
	Expect(err).NotTo(HaveOccurred(), "write the reports")
	fmt.Printf("netpolcheck: reports in %s: %s\n", recorder.Dir(), strings.Join(baseNames(paths), ", "))
})

// startRecording opens the report directory and writes the run's line.
func startRecording(cluster clusters.Cluster, provider, enforcer, manifests string, start time.Time) {
	version, commit := "(devel)", ""
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	run := result.Run{ID: reports.NewRunID(start), Netpolcheck: version, Commit: commit, Suite: "netpolcheck core (Ginkgo)",
		Provider: provider, Cluster: strings.TrimSuffix(cluster.Name(), "-"), Kubernetes: clusters.KubernetesVersion(cluster),
		Enforcer: implementation(enforcer, manifests, version), Start: start.UTC(),
		Selected: specsToRun, Library: runner.LibraryProfiles(cases.All())}
	dir := os.Getenv(reportDirEnv)
	if dir == "" {
		dir = filepath.Join(moduleRoot(), reports.DefaultDir(run.ID))
	}
	var err error
	recorder, err = reports.Record(dir, run)
	Expect(err).NotTo(HaveOccurred(), "%s=%s", reportDirEnv, dir)
}

// implementation names the enforcer under test for the reports, as
// netpolcheck run does.
func implementation(enforcer, manifests, version string) result.Implementation {
	switch enforcer {
	case clusters.EnforcerReference:
		return result.Implementation{Kind: enforcer, Name: "netpolcheck reference enforcer (iptables, reject)", Version: version,
			URL: "https://github.com/netpolcheck/netpolcheck"}
	case clusters.EnforcerNone:
		return result.Implementation{Kind: enforcer, Name: "none (no enforcer)"}
	}
	return result.Implementation{Kind: enforcer, Name: envOr(enforcerNameEnv, filepath.Base(filepath.Clean(manifests))),
		Version: os.Getenv(enforcerVersionEnv), URL: os.Getenv(enforcerURLEnv)}
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

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

// record keeps a case's result in the report directory.
func record(res result.Case) {
	t := res.Totals()
	totals.LeakRounds += t.LeakRounds
	totals.UnprovenRounds += t.UnprovenRounds
	Expect(recorder.Case(res)).To(Succeed(), "write the results")
}
