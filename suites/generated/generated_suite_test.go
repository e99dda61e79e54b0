package generated

import (
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
	"github.com/netpolcheck/netpolcheck/suites/cases/generate"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// Environment the suite reads. The cluster, enforcer, report and timing
// variables are the curated suite's (suites/core); the generated ones say
// which cases.
const (
	// seedEnv is the generator's seed (default defaultSeed, 1 or more).
	seedEnv = "NETPOLCHECK_GENERATED_SEED"
	// countEnv is how many cases to generate (default defaultCount).
	countEnv = "NETPOLCHECK_GENERATED_COUNT"
	// shrinkEnv=0 writes a failed case as it is, without shrinking it.
	shrinkEnv = "NETPOLCHECK_GENERATED_SHRINK"

	clusterEnv    = "NETPOLCHECK_CLUSTER"
	enforcerEnv   = "NETPOLCHECK_ENFORCER"
	reportDirEnv  = "NETPOLCHECK_REPORT_DIR"
	deadlineEnv   = "NETPOLCHECK_DEADLINE"
	nodesEnv      = "NETPOLCHECK_NODES"
	imagesEnv     = "NETPOLCHECK_IMAGES"
	nodeImageEnv  = "NETPOLCHECK_NODE_IMAGE"
	kubeconfigEnv = "KUBECONFIG"
)

// The default run is small enough for every go test: about half a second
// per case on the netns cluster, so well under a minute with the cluster.
const (
	defaultSeed  = 1
	defaultCount = 40
)

// settings are what the environment asks for; settingsErr says what it
// asks wrongly (BeforeSuite fails with it, and no case is generated).
var settings, settingsErr = readSettings()

type suiteSettings struct {
	seed   int64
	count  int
	shrink bool
	cases  []cases.Case
}

func readSettings() (suiteSettings, error) {
	s := suiteSettings{seed: defaultSeed, count: defaultCount, shrink: os.Getenv(shrinkEnv) != "0"}
	if v := os.Getenv(seedEnv); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return s, fmt.Errorf("%s=%s: want a seed of 1 or more", seedEnv, v)
		}
		s.seed = n
	}
	if v := os.Getenv(countEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return s, fmt.Errorf("%s=%s: want a count of 1 or more", countEnv, v)
		}
		s.count = n
	}
	var err error
	s.cases, err = generate.Cases(s.seed, s.count)
	return s, err
}

// The one cluster and runner of the suite, set up in BeforeSuite.
var (
	suiteRunner *runner.Runner
	// suiteCluster and suiteEnforcer are the provider and the enforcer
	// under test, for the replay command of a failed case.
	suiteCluster, suiteEnforcer string
	recorder                    *reports.Recorder
	specsToRun                  int
	totals                      result.Summary
)

func TestGenerated(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "netpolcheck generated")
}

var _ = ReportBeforeSuite(func(r Report) { specsToRun = r.PreRunStats.SpecsThatWillRun })

var _ = BeforeSuite(func(ctx SpecContext) {
	Expect(settingsErr).NotTo(HaveOccurred())
	provider := envOr(clusterEnv, "netns")
	enforcer := envOr(enforcerEnv, clusters.EnforcerReference)
	suiteCluster, suiteEnforcer = provider, enforcer
	if provider == "netns" && os.Geteuid() != 0 {
		Fail("the netns cluster creates network namespaces and iptables rules: run the suite as root, " +
			"e.g. sudo -E env PATH=$PATH go test ./suites/generated")
	}
	nodes, _ := strconv.Atoi(os.Getenv(nodesEnv))
	start := time.Now()
	cluster, err := clusters.Create(ctx, provider,
		clusters.WithLogger(slog.New(slog.NewTextHandler(GinkgoWriter, nil))),
		clusters.WithImagesDir(envOr(imagesEnv, filepath.Join(moduleRoot(), "_output", "images"))),
		clusters.WithNodeImage(os.Getenv(nodeImageEnv)),
		clusters.WithKubeconfig(os.Getenv(kubeconfigEnv), ""),
		clusters.WithNodes(nodes))
	Expect(err).NotTo(HaveOccurred(), "create the %s cluster (%s=%s)", provider, clusterEnv, provider)
	DeferCleanup(func(ctx SpecContext) { Expect(cluster.Destroy(ctx)).To(Succeed()) }, NodeTimeout(5*time.Minute))
	phase("cluster %s (%s) created", start, cluster.Name(), provider)

	start = time.Now()
	Expect(cluster.InstallEnforcer(ctx, enforcer)).To(Succeed(), "install the %s enforcer (%s)", enforcer, enforcerEnv)
	phase("enforcer %s installed", start, enforcer)
	deadline := runner.DefaultDeadline
	if d := os.Getenv(deadlineEnv); d != "" {
		deadline, err = time.ParseDuration(d)
		Expect(err).NotTo(HaveOccurred(), "%s=%s", deadlineEnv, d)
	}
	suiteRunner = runner.New(cluster, runner.WithProbeTimeout(time.Second), runner.WithDeadline(deadline))

	start = time.Now()
	pf, err := suiteRunner.Preflight(ctx, enforcer != clusters.EnforcerNone)
	startRecording(cluster, provider, enforcer, start)
	Expect(recorder.Preflight(pf.Record(err))).To(Succeed())
	Expect(err).NotTo(HaveOccurred(), "preflight\n%s", result.Describe(pf.Case))
	phase("preflight passed; %d of %d generated cases of seed %d selected", start, specsToRun, settings.count, settings.seed)
}, NodeTimeout(60*time.Minute))

var _ = AfterSuite(func() {
	fmt.Fprintf(GinkgoWriter, "cell-rounds: %d leaked before convergence, %d unproven\n", totals.LeakRounds, totals.UnprovenRounds)
	if recorder == nil {
		return
	}
	set := recorder.Set()
	fmt.Println() // after Ginkgo's progress dots
	Expect(reports.WriteCoverage(os.Stdout, reports.Coverage(set))).To(Succeed())
	end := result.End{End: time.Now().UTC()}
	if pf := set.Preflight; pf != nil && pf.Error != nil {
		end.Error = pf.Error
	}
	paths, err := recorder.Finish(end)
	Expect(err).NotTo(HaveOccurred(), "write the reports")
	fmt.Printf("netpolcheck: reports in %s: %s\n", recorder.Dir(), strings.Join(baseNames(paths), ", "))
})

// startRecording opens the report directory and writes the run's line,
// with the seed that makes its cases.
func startRecording(cluster clusters.Cluster, provider, enforcer string, start time.Time) {
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	impl := result.Implementation{Kind: enforcer, Name: "none (no enforcer)"}
	if enforcer == clusters.EnforcerReference {
		impl = result.Implementation{Kind: enforcer, Name: "netpolcheck reference enforcer (iptables, reject)", Version: version,
			URL: "https://github.com/netpolcheck/netpolcheck"}
	}
	run := result.Run{ID: reports.NewRunID(start), Netpolcheck: version, Suite: "netpolcheck generated (Ginkgo)",
		Provider: provider, Cluster: strings.TrimSuffix(cluster.Name(), "-"), Kubernetes: clusters.KubernetesVersion(cluster),
		Enforcer: impl, Start: start.UTC(), Seed: settings.seed,
		Selected: specsToRun, Library: runner.LibraryProfiles(settings.cases)}
	dir := os.Getenv(reportDirEnv)
	if dir == "" {
		dir = filepath.Join(moduleRoot(), reports.DefaultDir(run.ID))
	}
	var err error
	recorder, err = reports.Record(dir, run)
	Expect(err).NotTo(HaveOccurred(), "%s=%s", reportDirEnv, dir)
}

// record keeps a case's result in the report directory.
func record(res result.Case) {
	t := res.Totals()
	totals.LeakRounds += t.LeakRounds
	totals.UnprovenRounds += t.UnprovenRounds
	Expect(recorder.Case(res)).To(Succeed(), "write the results")
}

// phase prints one line per phase of the set-up with its duration.
func phase(format string, start time.Time, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Printf("netpolcheck: %s in %s\n", line, time.Since(start).Round(time.Millisecond))
	GinkgoWriter.Println(line)
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
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
