package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

type runFlags struct {
	cluster      string
	enforcer     string
	focus        string
	labelFilter  string
	deadline     time.Duration
	probeTimeout time.Duration
	results      string
	denyAction   string
	nodes        int
	list         bool
	output       string
	dumpCase     string
	dumpStep     int
	exportCase   string
	verbosity    int
	kubeconfig   string
	context      string
	imagesDir    string
	nodeImage    string
	kindConfig   string
	// A user's plugin on kind or an existing cluster, and the probe mode.
	enforcerManifests string
	loadImages        []string
	cni               string
	probeMode         string
	// Where the reports go, and the plugin they name.
	reportDir       string
	enforcerName    string
	enforcerVersion string
	enforcerURL     string
	// shrink reduces each failed case to a minimal one (shrink.go).
	shrink bool
}

func newRunCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the case library against a cluster and compare every cell with the spec model",
		Long: `run creates a cluster, installs the enforcer under test, and runs every
selected case: each step's actions, then rounds of probes until the observed
matrix matches the model's truth table (or the deadline passes). On a
terminal a live progress line goes to stderr; each failed case prints its
expected, observed and comparison grids with the model's reasons on stdout.

Every flag is checked before anything is built. Exit codes: 0 every case
passed, 1 the enforcer failed cases, 2 bad usage, 3 an infrastructure error
(a case could not be judged, or the cluster could not be built), 130
interrupted (the cases that finished are summarised).

The netns cluster needs root. Without --deadline, steps get 10s with an
enforcer and 1s with --enforcer none (nothing will ever change then).

A failed case also prints the namespaces, pods and NetworkPolicies in force
at its failing step as YAML (and --results carries them): kubectl apply -f
rebuilds the step on any cluster. --dump-case NAME prints a case's manifests
at each step without building anything; --export-case NAME prints the case
itself as YAML, which netpolcheck replay runs.

-o json or -o yaml prints the run's summary as an object on stdout (the
failed cases' reports then go to stderr); with --list, the list.

Every run leaves a report directory (--report-dir, default
reports/out/<run-id>/): results.jsonl, written as the run goes (a killed run
still leaves every finished case), then junit.xml, report.html, summary.md
and conformance.yaml. netpolcheck report regenerates them from the JSONL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.settle(cmd)
			return runCases(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	addExecutionFlags(fl, &f)
	fl.StringVar(&f.focus, "focus", "", "run only the case of this name (as --list prints it), or the cases whose name matches this regular expression")
	fl.StringVar(&f.labelFilter, "label-filter", "", `run only cases whose labels match this Ginkgo label filter, e.g. "ingress && !sctp"`)
	fl.BoolVar(&f.list, "list", false, "list the selected cases and their labels, run nothing")
	fl.StringVar(&f.dumpCase, "dump-case", "", "print the manifests (namespaces, pods, policies) of this case at each step as YAML, run nothing")
	fl.IntVar(&f.dumpStep, "dump-step", 0, "with --dump-case, only the state after this step (from 1)")
	fl.StringVar(&f.exportCase, "export-case", "", "print this case as case YAML (netpolcheck replay runs it), run nothing")
	return cmd
}

// addExecutionFlags adds the flags of how cases run, the same for run and
// replay: the cluster, the enforcer under test, the deadlines and where the
// results go.
func addExecutionFlags(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVar(&f.cluster, "cluster", "netns", "cluster provider: "+strings.Join(clusters.Providers(), ", "))
	fl.StringVar(&f.enforcer, "enforcer", clusters.EnforcerReference, "enforcer under test: "+strings.Join(enforcers, " or "))
	fl.DurationVar(&f.deadline, "deadline", runner.DefaultDeadline, "how long a step may take to converge")
	fl.DurationVar(&f.probeTimeout, "probe-timeout", runner.DefaultProbeTimeout, "timeout of each probe")
	fl.StringVar(&f.results, "results", "", "also write the results' JSON lines to this file (- for stdout; the text report then goes to stderr)")
	fl.StringVar(&f.reportDir, "report-dir", "", "directory for results.jsonl, junit.xml, report.html, summary.md and conformance.yaml (default reports/out/<run-id>)")
	fl.StringVar(&f.enforcerName, "enforcer-name", "", "name of the plugin under test, for the reports (--enforcer manifests; default: the manifests directory's name)")
	fl.StringVar(&f.enforcerVersion, "enforcer-version", "", "version of the plugin under test, for the reports (--enforcer manifests)")
	fl.StringVar(&f.enforcerURL, "enforcer-url", "", "project URL of the plugin under test, for the reports (--enforcer manifests)")
	fl.IntVar(&f.nodes, "nodes", 2, "nodes of a cluster the provider builds (at least what the selected cases use)")
	fl.StringVar(&f.denyAction, "deny-action", "reject", "how the reference enforcer denies: "+strings.Join(denyActions, " (probes fail fast) or ")+" (probes time out)")
	fl.StringVarP(&f.output, "output", "o", outputText, "format of the summary (or of --list): text, json or yaml")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of an existing cluster (--cluster existing; default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context of an existing cluster (default: the current one)")
	fl.StringVar(&f.imagesDir, "images", "_output/images", "directory with probe.tar and enforcer.tar (make images), loaded into kind nodes")
	fl.StringVar(&f.nodeImage, "node-image", "", "kind node image to use instead of building the offline one")
	fl.StringVar(&f.kindConfig, "kind-config", "", "kind cluster configuration file replacing the default")
	fl.StringVar(&f.enforcerManifests, "enforcer-manifests", "", "directory of a plugin's manifests (*.yaml, *.yml), applied once the cluster is up; the plugin becomes the enforcer under test (kind, existing)")
	fl.StringArrayVar(&f.loadImages, "load-image", nil, "image tarball (docker save or OCI archive) to load into every kind node, e.g. the plugin's (repeatable)")
	fl.StringVar(&f.cni, "cni", clusters.CNIBuiltin, "who networks pods on kind: "+clusters.CNIBuiltin+" (a plain routed network that enforces nothing) or "+clusters.CNIManifests+" (the plugin's manifests install the CNI)")
	fl.StringVar(&f.probeMode, "probe-mode", clusters.ProbeModeBatch, "how probes reach pods on kind and existing clusters: "+clusters.ProbeModeBatch+" (a stream per source pod, a batch per round) or "+clusters.ProbeModePerCell+" (one exec per cell, 3 at a time, as the upstream e2e suite does: a baseline)")
	fl.BoolVar(&f.shrink, "shrink", false, "shrink each failed case (not an infrastructure error) on the same cluster to a minimal case that still fails, written as case YAML to shrunk/ in the report directory")
}

var (
	enforcers   = []string{clusters.EnforcerReference, clusters.EnforcerNone, clusters.EnforcerManifests}
	denyActions = []string{"reject", "drop"}
)

// settle fills what the flags leave to the command line as a whole: steps
// get 1s without an enforcer unless --deadline says otherwise (nothing will
// ever change then), and -v.
func (f *runFlags) settle(cmd *cobra.Command) {
	if !cmd.Flags().Changed("deadline") && f.enforcer == clusters.EnforcerNone {
		f.deadline = time.Second
	}
	f.verbosity = verbosity(cmd)
}

// validate checks every flag before anything is built and returns the
// selected cases. Each problem is one line naming the flag and what it
// accepts.
func (f runFlags) validate() ([]cases.Case, error) {
	if err := checkOutput(f.output); err != nil {
		return nil, err
	}
	if f.exportCase != "" {
		return f.validateExport()
	}
	if f.dumpCase != "" || f.dumpStep != 0 {
		return f.validateDump()
	}
	if err := f.validateExecution(); err != nil {
		return nil, err
	}
	selected, err := selectCases(cases.All(), f.focus, f.labelFilter)
	if err != nil {
		return nil, err
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("no case matches --focus %q --label-filter %q (see --list)", f.focus, f.labelFilter)
	}
	if f.list {
		return selected, nil
	}
	return selected, f.checkNodes(selected)
}

// checkNodes makes sure the cluster will have the nodes the cases' pods
// run on.
func (f runFlags) checkNodes(selected []cases.Case) error {
	if need, why := nodesNeeded(selected); f.nodes < need {
		return fmt.Errorf("--nodes %d: the selected cases need at least %d (%s)", f.nodes, need, why)
	}
	return nil
}

// validateExecution checks the flags of how cases run: the cluster, the
// enforcer, the deadlines and where the results go.
func (f runFlags) validateExecution() error {
	if f.output != outputText && f.results == "-" && !f.list {
		return fmt.Errorf("--output %s and --results - both want stdout: give --results a file, or drop -o", f.output)
	}
	if !slices.Contains(clusters.Providers(), f.cluster) {
		return fmt.Errorf("--cluster %q: want one of %s", f.cluster, strings.Join(clusters.Providers(), ", "))
	}
	if !slices.Contains(enforcers, f.enforcer) {
		return fmt.Errorf("--enforcer %q: want %s", f.enforcer, strings.Join(enforcers, " or "))
	}
	if err := f.validatePlugin(); err != nil {
		return err
	}
	if !slices.Contains(denyActions, f.denyAction) {
		return fmt.Errorf("--deny-action %q: want %s", f.denyAction, strings.Join(denyActions, " or "))
	}
	if f.deadline <= 0 {
		return fmt.Errorf("--deadline %s: want a positive duration, e.g. 10s", f.deadline)
	}
	if f.probeTimeout <= 0 {
		return fmt.Errorf("--probe-timeout %s: want a positive duration, e.g. 1s", f.probeTimeout)
	}
	if f.nodes < 1 {
		return fmt.Errorf("--nodes %d: want at least 1", f.nodes)
	}
	if err := checkResultsPath(f.results); err != nil {
		return err
	}
	return checkReportDir(f.reportDir)
}

// validatePlugin checks the flags of a user's plugin and the probe mode,
// which only mean something on Kubernetes clusters.
func (f runFlags) validatePlugin() error {
	kubernetes := f.cluster == "kind" || f.cluster == "existing"
	switch {
	case f.enforcer == clusters.EnforcerManifests && f.enforcerManifests == "":
		return fmt.Errorf("--enforcer %s: give the plugin's manifests with --enforcer-manifests DIR", clusters.EnforcerManifests)
	case f.enforcerManifests != "" && f.enforcer != clusters.EnforcerManifests:
		return fmt.Errorf("--enforcer-manifests %s with --enforcer %s: the manifests are the enforcer under test; use --enforcer %s", f.enforcerManifests, f.enforcer, clusters.EnforcerManifests)
	case f.enforcerManifests != "" && !kubernetes:
		return fmt.Errorf("--enforcer-manifests needs a real cluster: --cluster kind or existing, not %s", f.cluster)
	case len(f.loadImages) > 0 && f.cluster != "kind":
		return fmt.Errorf("--load-image loads tarballs into kind nodes; --cluster %s cannot take them", f.cluster)
	case f.cni != clusters.CNIBuiltin && f.cni != clusters.CNIManifests:
		return fmt.Errorf("--cni %q: want %s or %s", f.cni, clusters.CNIBuiltin, clusters.CNIManifests)
	case f.cni == clusters.CNIManifests && (f.cluster != "kind" || f.enforcerManifests == ""):
		return fmt.Errorf("--cni %s: the plugin's manifests must install the CNI, so it needs --cluster kind and --enforcer-manifests", clusters.CNIManifests)
	case f.probeMode != clusters.ProbeModeBatch && f.probeMode != clusters.ProbeModePerCell:
		return fmt.Errorf("--probe-mode %q: want %s or %s", f.probeMode, clusters.ProbeModeBatch, clusters.ProbeModePerCell)
	case f.probeMode == clusters.ProbeModePerCell && !kubernetes:
		return fmt.Errorf("--probe-mode %s probes through the Kubernetes API: --cluster kind or existing, not %s", clusters.ProbeModePerCell, f.cluster)
	case (f.enforcerName != "" || f.enforcerVersion != "" || f.enforcerURL != "") && f.enforcer != clusters.EnforcerManifests:
		return fmt.Errorf("--enforcer-name, --enforcer-version and --enforcer-url name a plugin under test: they go with --enforcer %s", clusters.EnforcerManifests)
	}
	if f.enforcerManifests != "" {
		if err := checkManifestsDir(f.enforcerManifests); err != nil {
			return err
		}
	}
	for _, tar := range f.loadImages {
		if st, err := os.Stat(tar); err != nil || st.IsDir() {
			return fmt.Errorf("--load-image %s: not a file", tar)
		}
	}
	return nil
}

// checkManifestsDir makes sure dir holds at least one YAML file.
func checkManifestsDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return fmt.Errorf("--enforcer-manifests %s: not a directory", dir)
	}
	var yamls []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		yamls = append(yamls, m...)
	}
	if len(yamls) == 0 {
		return fmt.Errorf("--enforcer-manifests %s: no *.yaml or *.yml file in it", dir)
	}
	return nil
}

// checkResultsPath makes sure --results can be created later, without
// creating it: a run that stops early leaves no empty file behind.
func checkResultsPath(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("--results %s: is a directory; want a file (or - for stdout)", path)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--results %s: directory %s does not exist", path, dir)
	}
	return nil
}

// runCases is netpolcheck run: the library's cases, selected, listed,
// dumped, exported or run.
func runCases(ctx context.Context, f runFlags, stdout, stderr io.Writer) error {
	selected, err := f.validate()
	if err != nil {
		return badInput(err)
	}
	switch {
	case f.list:
		return listCases(stdout, selected, f.output)
	case f.exportCase != "":
		return exportCase(stdout, selected[0])
	case f.dumpCase != "":
		return dumpCase(stdout, selected[0], f.dumpStep)
	}
	return runSelected(ctx, f, selected, caseSource{suite: "netpolcheck run", library: cases.All()}, stdout, stderr)
}

// caseSource says where a run's cases come from, for its reports.
type caseSource struct {
	// suite names the command, e.g. "netpolcheck run".
	suite string
	// library is what the cases were selected from: the reports count it
	// per profile.
	library []cases.Case
}

// runSelected runs validated cases the one way run and replay share: a cluster,
// the enforcer under test, the preflight, then every case, with the reports
// written as it goes. Its error carries the exit code.
func runSelected(ctx context.Context, f runFlags, selected []cases.Case, src caseSource, stdout, stderr io.Writer) (err error) {
	// With --results - stdout carries the JSON results and nothing else;
	// with -o json or yaml, the summary object and nothing else.
	report := stdout
	if f.results == "-" || f.output != outputText {
		report = stderr
	}
	run := f.runRecord(time.Now(), len(selected), src)
	dir := f.reportDir
	if dir == "" {
		dir = reports.DefaultDir(run.ID)
	}

	progress := newProgress(stderr, len(selected))
	defer progress.clear()
	logger := newLogger(progress.logWriter(), f.verbosity)
	progress.status("creating %s cluster", f.cluster)
	cluster, err := clusters.Create(ctx, f.cluster, clusters.WithNodes(f.nodes), clusters.WithDenyAction(f.denyAction), clusters.WithLogger(logger),
		clusters.WithKubeconfig(f.kubeconfig, f.context), clusters.WithImagesDir(f.imagesDir), clusters.WithNodeImage(f.nodeImage), clusters.WithKindConfig(f.kindConfig),
		clusters.WithEnforcerManifests(f.enforcerManifests), clusters.WithLoadImages(f.loadImages...), clusters.WithCNI(f.cni), clusters.WithProbeMode(f.probeMode))
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(fmt.Sprintf("creating the %s cluster", f.cluster))
		}
		return infraError(fmt.Errorf("create %s cluster: %w", f.cluster, err))
	}
	defer func() {
		progress.status("destroying cluster %s", displayName(cluster))
		derr := cluster.Destroy(context.WithoutCancel(ctx))
		progress.clear()
		if derr == nil {
			return
		}
		if err == nil {
			err = infraError(fmt.Errorf("destroy cluster %s: %w", displayName(cluster), derr))
			return
		}
		printError(stderr, fmt.Errorf("destroy cluster %s: %w", displayName(cluster), derr))
	}()
	run.Cluster = displayName(cluster)
	run.Kubernetes = clusters.KubernetesVersion(cluster)

	results, closeResults, err := openResults(f.results, stdout)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeResults(); cerr != nil && err == nil {
			err = infraError(fmt.Errorf("--results: %w", cerr))
		}
	}()
	var also []io.Writer
	if results != nil {
		also = append(also, results)
	}
	rec, err := reports.Record(dir, run, also...)
	if err != nil {
		return infraError(err)
	}
	// Whatever happens from here, the reports are rendered from what was
	// recorded, and the run's error says what stopped it.
	var end result.End
	defer func() {
		end.End = time.Now().UTC()
		if err != nil && end.Error == nil && end.Interrupted == "" {
			var ee *exitError
			if errors.As(err, &ee) && ee.code == exitInfra {
				end.Error = result.Errorf(result.ErrorCluster, "%v", err)
			}
		}
		progress.clear()
		paths, ferr := rec.Finish(end)
		if ferr != nil {
			printError(stderr, fmt.Errorf("reports: %w", ferr))
			if err == nil {
				err = infraError(fmt.Errorf("reports: %w", ferr))
			}
			return
		}
		fmt.Fprintf(stderr, "reports in %s: %s\n", rec.Dir(), strings.Join(baseNames(paths), ", "))
	}()

	if f.enforcer == clusters.EnforcerNone {
		progress.status("starting without an enforcer (--enforcer none)")
	} else {
		progress.status("installing the %s enforcer", f.enforcer)
	}
	if err := cluster.InstallEnforcer(ctx, f.enforcer); err != nil {
		if ctx.Err() != nil {
			end.Interrupted = fmt.Sprintf("installing the %s enforcer", f.enforcer)
			return interrupted(end.Interrupted)
		}
		return infraError(fmt.Errorf("install the %s enforcer: %w", f.enforcer, err))
	}

	r := runner.New(cluster, runner.WithDeadline(f.deadline), runner.WithProbeTimeout(f.probeTimeout), runner.WithLogger(logger))
	// Only the enforcer under test may filter, and it must be seen to: the
	// same proof on every provider.
	progress.status("preflight: the whole matrix without policies, then a canary default-deny")
	pf, err := r.Preflight(ctx, f.enforcer != clusters.EnforcerNone)
	if werr := rec.Preflight(pf.Record(err)); werr != nil {
		return infraError(fmt.Errorf("write the results: %w", werr))
	}
	if err != nil {
		if ctx.Err() != nil {
			end.Interrupted = "running the preflight"
			return interrupted(end.Interrupted)
		}
		progress.clear()
		fmt.Fprintln(report, result.Describe(pf.Case))
		end.Error = result.Errorf(result.ErrorCluster, "%v", err)
		return infraError(err)
	}
	if f.enforcer == clusters.EnforcerNone {
		progress.status("preflight passed in %s (the canary changed nothing: nothing enforces)", pf.Duration.Round(time.Millisecond))
	} else {
		progress.status("preflight passed in %s (canary enforced in %s)", pf.Duration.Round(time.Millisecond), pf.CanaryEnforcedIn.Round(time.Millisecond))
	}
	start := time.Now()
	var sum runSummary
	shrinker := newShrinker(f, rec.Dir(), report, progress)
	for i, c := range selected {
		if ctx.Err() != nil {
			end.Interrupted = fmt.Sprintf("waiting to start case %q", c.Name)
			break
		}
		progress.caseStarts(i, len(sum.failed)+len(sum.infra), c.Name)
		res := r.Run(ctx, c)
		if ctx.Err() != nil {
			// Interrupted mid-case: its result says nothing about the enforcer.
			end.Interrupted = fmt.Sprintf("running case %q", c.Name)
			break
		}
		var reproErr error
		if !res.Passed {
			res.Reproduce, reproErr = reproduce(ctx, cluster, c, res)
		}
		if err := rec.Case(res); err != nil {
			return infraError(fmt.Errorf("write the results: %w", err))
		}
		sum.add(res)
		if !res.Passed {
			progress.clear()
			fmt.Fprintln(report, result.Describe(res))
			if reproErr != nil {
				printError(report, reproErr)
			} else {
				fmt.Fprintln(report, res.Reproduce.Manifests)
			}
		}
		if f.shrink && res.Verdict() == result.Failed {
			shrinker.shrink(ctx, r, c, res)
			if ctx.Err() != nil {
				end.Interrupted = fmt.Sprintf("shrinking case %q", c.Name)
				break
			}
		}
	}
	progress.clear()
	info := runInfo{
		selected: len(selected), took: time.Since(start), provider: f.cluster, cluster: displayName(cluster),
		enforcer: f.enforcer, interrupted: end.Interrupted != "",
	}
	if f.output == outputText {
		// What the cases covered, then the verdict, which stays last.
		if err := reports.WriteCoverage(report, reports.Coverage(rec.Set())); err != nil {
			return infraError(fmt.Errorf("write the coverage: %w", err))
		}
		sum.write(report, info)
	} else if err := writeData(stdout, f.output, sum.object(info)); err != nil {
		return infraError(fmt.Errorf("write the summary: %w", err))
	}
	return sum.outcome(end.Interrupted)
}

// openResults opens the --results destination once there is something to
// write: - is stdout, "" is none.
func openResults(path string, stdout io.Writer) (io.Writer, func() error, error) {
	switch path {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, badInput(fmt.Errorf("--results: %w", err))
	}
	return f, f.Close, nil
}

// listCases prints the selected cases with their labels.
func listCases(w io.Writer, selected []cases.Case, output string) error {
	if output != outputText {
		type listed struct {
			Name   string   `json:"name"`
			Labels []string `json:"labels"`
		}
		out := struct {
			Cases []listed `json:"cases"`
		}{Cases: []listed{}}
		for _, c := range selected {
			out.Cases = append(out.Cases, listed{Name: c.Name, Labels: runner.Labels(c)})
		}
		return writeData(w, output, out)
	}
	for _, c := range selected {
		fmt.Fprintf(w, "%s  [%s]\n", c.Name, strings.Join(runner.Labels(c), ", "))
	}
	return nil
}

// displayName is the cluster's name as messages show it: its run prefix
// without the trailing separator.
func displayName(c clusters.Cluster) string { return strings.TrimSuffix(c.Name(), "-") }

// runRecord is the run's first JSON line as far as it is known before the
// cluster exists.
func (f runFlags) runRecord(start time.Time, selected int, src caseSource) result.Run {
	version, commit := buildVersion()
	return result.Run{
		ID: reports.NewRunID(start), Netpolcheck: version, Commit: commit, Suite: src.suite,
		Provider: f.cluster, Enforcer: f.implementation(version), Start: start.UTC(),
		Selected: selected, Library: runner.LibraryProfiles(src.library),
	}
}

// projectURL is netpolcheck's home, named in reports of its own enforcer.
const projectURL = "https://github.com/netpolcheck/netpolcheck"

// implementation names the enforcer under test for the reports.
func (f runFlags) implementation(version string) result.Implementation {
	switch f.enforcer {
	case clusters.EnforcerReference:
		return result.Implementation{Kind: f.enforcer, Name: "netpolcheck reference enforcer (iptables, " + f.denyAction + ")", Version: version, URL: projectURL}
	case clusters.EnforcerNone:
		return result.Implementation{Kind: f.enforcer, Name: "none (no enforcer)"}
	}
	name := f.enforcerName
	if name == "" {
		name = filepath.Base(filepath.Clean(f.enforcerManifests))
	}
	return result.Implementation{Kind: f.enforcer, Name: name, Version: f.enforcerVersion, URL: f.enforcerURL}
}

// baseNames are the files' names without their directory.
func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// checkReportDir refuses a --report-dir that is a file or holds a run.
func checkReportDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("--report-dir %s: is a file; want a directory", dir)
	case err == nil:
		if _, err := os.Stat(filepath.Join(dir, reports.JSONLName)); err == nil {
			return fmt.Errorf("--report-dir %s: holds a run already (%s); give another directory", dir, reports.JSONLName)
		}
	}
	return nil
}
