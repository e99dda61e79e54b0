package generated

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/cases/generate"
	"github.com/netpolcheck/netpolcheck/suites/runner"
	"github.com/netpolcheck/netpolcheck/suites/shrink"
)

// One It per generated case, in the generator's order, labelled with its
// features, dimensions and clauses (select with --ginkgo.label-filter, e.g.
// 'peer=ipblock && !sctp'). The model's table is the expectation and the
// enforcer's observed table must equal it: with the reference enforcer this
// is the differential check of the two.
var _ = Describe("generated NetworkPolicy cases", func() {
	for _, c := range settings.cases {
		It(c.Name, Label(runner.Labels(c)...), func(ctx SpecContext) {
			res := suiteRunner.Run(ctx, c)
			record(res)
			if !res.Passed {
				Fail(result.Describe(res) + "\n" + keepFailure(ctx, c, res))
			}
		})
	}
})

// Shrinking runs the case again and again, each failing attempt waiting
// for its deadline: a few minutes per case. Only the first maxShrunk
// failures of a run are shrunk (against an enforcer that fails everything
// the rest would take hours); later ones are written as they are.
const (
	maxShrunk     = 3
	shrinkTimeout = 5 * time.Minute
)

var (
	shrunkMu sync.Mutex
	shrunk   int
)

// keepFailure writes a failed case beside the reports: as generated, in
// failed/, and, for a failure of the enforcer (not an infrastructure
// error), shrunk to a minimal case that fails the same way, in shrunk/.
// It returns the lines that name the files for the failure message.
func keepFailure(ctx context.Context, c cases.Case, res result.Case) string {
	file := fileName(c)
	path, err := writeCase(filepath.Join(recorder.Dir(), "failed", file), c)
	if err != nil {
		return fmt.Sprintf("could not write the case: %v", err)
	}
	lines := []string{"the case as generated: " + path}
	shrunkMu.Lock()
	try := settings.shrink && res.Verdict() == result.Failed && shrunk < maxShrunk
	if try {
		shrunk++
	}
	shrunkMu.Unlock()
	switch {
	case !settings.shrink:
		lines = append(lines, fmt.Sprintf("not shrunk (%s=0)", shrinkEnv))
	case res.Verdict() != result.Failed:
		lines = append(lines, "not shrunk: an infrastructure error says nothing about the enforcer")
	case !try:
		lines = append(lines, fmt.Sprintf("not shrunk: the first %d failures of the run were", maxShrunk))
	default:
		msg, minimal := shrinkCase(ctx, c, res, file)
		lines = append(lines, msg)
		if minimal != "" {
			path = minimal
		}
	}
	lines = append(lines, "replay: "+replayCommand(path))
	return strings.Join(lines, "\n")
}

// shrinkCase reduces the failed case on the suite's cluster and writes the
// minimal case. It says where and from what size to what, and returns the
// file ("" when none was written).
func shrinkCase(ctx context.Context, c cases.Case, res result.Case, file string) (string, string) {
	stillFails := shrink.Reproduces(suiteRunner.Run, res)
	minimal, st, err := shrink.Shrink(ctx, c, stillFails, shrink.WithTimeout(shrinkTimeout))
	if err != nil && st.Size == st.OriginalSize {
		return fmt.Sprintf("not shrunk: %v", err), ""
	}
	// The dimensions and clauses were the original's: label the minimal
	// case for what it still does.
	minimal.Name += " (shrunk)"
	minimal.Features = []string{generate.Feature}
	minimal = cases.WithDerivedFeatures(minimal)
	if clauses, cerr := generate.Clauses(minimal); cerr == nil {
		minimal.Clauses = clauses
	}
	path, werr := writeCase(filepath.Join(recorder.Dir(), "shrunk", file), minimal)
	if werr != nil {
		return fmt.Sprintf("could not write the shrunk case: %v", werr), ""
	}
	how := fmt.Sprintf("from size %d to %d in %d attempts, %s", st.OriginalSize, st.Size, st.Attempts, st.Took.Round(100*time.Millisecond))
	switch {
	case err != nil:
		how += fmt.Sprintf(", stopped (%v): not minimal", err)
	case !st.Minimal:
		how += fmt.Sprintf(", stopped by the %s budget: not minimal", st.Stopped)
	}
	return fmt.Sprintf("minimal case that fails the same way (%s, %s): %s", shrink.SignatureOf(res), how, path), path
}

// replayCommand runs a case file on a cluster and enforcer like the
// suite's: the flags that say so when they are not the defaults.
func replayCommand(path string) string {
	args := []string{"netpolcheck", "replay"}
	if suiteCluster != "netns" {
		args = append(args, "--cluster", suiteCluster)
	}
	if suiteEnforcer != clusters.EnforcerReference {
		args = append(args, "--enforcer", suiteEnforcer)
	}
	return strings.Join(append(args, path), " ")
}

// fileName is the case's file: its "gen-<seed>-<index>" prefix, as
// netpolcheck generate names it (unpadded).
func fileName(c cases.Case) string {
	id, _, _ := strings.Cut(c.Name, ":")
	return id + ".yaml"
}

func writeCase(path string, c cases.Case) (string, error) {
	data, err := cases.Marshal(c)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, 0o644)
}
