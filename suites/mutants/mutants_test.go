package mutants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/clusters/netns"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/cases/generate"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// mutantsEnv=1 runs the kill-rate test (make mutants sets it): it builds a
// netns cluster per mutant and takes minutes, too long for every go test.
const mutantsEnv = "NETPOLCHECK_MUTANTS"

// Timing of a hunt. The reference enforcer converges in about 50 ms on the
// netns cluster, so a step that has not matched within deadline never will;
// and since denials are REJECTs, probes fail fast: only a lost reply waits
// for probeTimeout. Each kill costs one deadline, so it is kept short.
const (
	deadline     = 3 * time.Second
	probeTimeout = time.Second
)

// source is a named list of cases that every mutant faces.
type source struct {
	name  string
	cases func() ([]cases.Case, error)
}

// sources are the case lists every mutant faces, each on its own: the
// curated library, and the generated suite's default cases (seed and count
// as suites/generated runs them by default). A mutant is killed when any
// source kills it; the table says which case of each source did, so the
// kill rate of each source is known too.
func sources() []source {
	return []source{
		{name: "curated", cases: func() ([]cases.Case, error) { return cases.All(), nil }},
		{name: "generated", cases: func() ([]cases.Case, error) { return generate.Cases(generatedSeed, generatedCount) }},
	}
}

// The generated source: suites/generated's defaults.
const (
	generatedSeed  = 1
	generatedCount = 40
)

// verdict is how one enforcer (a mutant, or "" for the correct one) fared.
type verdict struct {
	mutant enforcer.Mutant
	// killedBy is "preflight" or "<source>: <case>" of the first kill;
	// empty if it survived.
	killedBy string
	// bySource is the killing case per source ("preflight" for all when the
	// preflight did it; absent when the source did not kill).
	bySource map[string]string
	// how is "failure" (the case caught the enforcer in a wrong cell) or
	// "error (<kind>)" (the case could not even be judged, which a correct
	// enforcer never causes; see the control).
	how string
	// why is the killing case's one-line reason.
	why string
	// ran counts what ran: the preflight, then the cases.
	ran  int
	took time.Duration
	// setup is set when the cluster or the enforcer could not start: the
	// mutant was never judged.
	setup error
}

func (v verdict) killed() bool { return v.killedBy != "" }

// TestEveryMutantIsKilled runs, for each mutant, a fresh netns cluster whose
// reference enforcers carry the mutant, then the preflight and the cases of
// every source in order until one does not pass: that case killed the
// mutant. It fails if any mutant passes everything, prints the table of who
// killed whom, and ends with the line "killed N/M mutants".
//
// The control runs first, in the same test and through the same hunt with
// the same timing: the correct reference enforcer must pass every case, or a
// "kill" could be the harness's own flake (suites/core also runs the
// reference, but with another deadline). Selecting one mutant with
// -run 'TestEveryMutantIsKilled/<mutant>' skips the control.
func TestEveryMutantIsKilled(t *testing.T) {
	if os.Getenv(mutantsEnv) != "1" {
		t.Skipf("the kill-rate test builds a netns cluster per mutant and takes minutes: run `make mutants` (as root), or set %s=1", mutantsEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the netns cluster creates network namespaces and iptables rules: run as root")
	}
	start := time.Now()
	controlRan := false
	controlPassed := t.Run("reference", func(t *testing.T) {
		controlRan = true
		v := hunt(t.Context(), "")
		switch {
		case v.setup != nil:
			t.Fatalf("control: %v", v.setup)
		case v.killed():
			t.Fatalf("control: the correct reference enforcer did not pass %s (%s): %s\nNo kill would mean anything.", v.killedBy, v.how, v.why)
		}
		t.Logf("control: the correct reference enforcer passed the preflight and all %d cases in %s", v.ran-1, v.took.Round(time.Millisecond))
	})
	if !controlPassed {
		t.FailNow()
	}

	var (
		mu       sync.Mutex
		verdicts []verdict
	)
	for _, m := range enforcer.Mutants() {
		t.Run(string(m), func(t *testing.T) {
			v := hunt(t.Context(), m)
			mu.Lock()
			verdicts = append(verdicts, v)
			mu.Unlock()
			switch {
			case v.setup != nil:
				// A mutant must break enforcement, not the enforcer itself.
				t.Errorf("not judged: %v", v.setup)
			case !v.killed():
				t.Errorf("survived the preflight and all %d cases: the library would pass a plugin with this bug", v.ran-1)
			default:
				t.Logf("%s killed by %s (%s) after %d runs (the preflight counts as one) in %s: %s", m, v.killedBy, v.how, v.ran, v.took.Round(time.Millisecond), v.why)
			}
		})
	}
	if len(verdicts) == 0 {
		return // -run selected no mutant
	}
	killed := 0
	for _, v := range verdicts {
		if v.killed() {
			killed++
		}
	}
	fmt.Println()
	printTable(os.Stdout, verdicts)
	control := "control included"
	if !controlRan {
		control = "no control: -run left it out"
	}
	fmt.Printf("\ntotal %s (%s)\n", time.Since(start).Round(time.Second), control)
	fmt.Printf("killed %d/%d mutants\n", killed, len(verdicts))
}

// hunt runs the preflight and then every source's cases against the
// reference enforcer made mutant m, on a cluster of its own, and stops at the
// first that does not pass.
func hunt(ctx context.Context, m enforcer.Mutant) (v verdict) {
	start := time.Now()
	v.mutant = m
	defer func() { v.took = time.Since(start) }()
	cluster, err := netns.Create(ctx, netns.WithEnforcerOptions(enforcer.WithMutant(m)))
	if err != nil {
		v.setup = fmt.Errorf("create the netns cluster: %w", err)
		return v
	}
	defer func() {
		if err := cluster.Destroy(context.WithoutCancel(ctx)); err != nil {
			v.setup = errors.Join(v.setup, err)
		}
	}()
	if err := cluster.InstallEnforcer(ctx, clusters.EnforcerReference); err != nil {
		v.setup = fmt.Errorf("start the reference enforcer: %w", err)
		return v
	}
	r := runner.New(cluster, runner.WithDeadline(deadline), runner.WithProbeTimeout(probeTimeout))
	v.bySource = map[string]string{}
	v.ran++
	if pf, err := r.Preflight(ctx, true); err != nil {
		v.killedBy, v.how, v.why = "preflight", how(pf.Case), err.Error()
		for _, src := range sources() {
			v.bySource[src.name] = "preflight"
		}
		return v
	}
	// Each source hunts on its own, so each has a kill rate of its own.
	for _, src := range sources() {
		list, err := src.cases()
		if err != nil {
			v.setup = fmt.Errorf("%s cases: %w", src.name, err)
			return v
		}
		for _, c := range list {
			v.ran++
			if res := r.Run(ctx, c); !res.Passed {
				v.bySource[src.name] = c.Name
				if v.killedBy == "" {
					v.killedBy, v.how, v.why = src.name+": "+c.Name, how(res), res.Why()
				}
				break
			}
		}
	}
	return v
}

// how says whether a case that did not pass failed or errored.
func how(c result.Case) string {
	if c.Error != nil {
		return fmt.Sprintf("error (%s)", c.Error.Kind)
	}
	return "failure"
}

// printTable writes one line per mutant: who killed it and how.
func printTable(w io.Writer, verdicts []verdict) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// RUN counts the preflight and the cases run, the killing ones included.
	srcs := sources()
	header := "MUTANT\tFIRST KILLED BY\tHOW"
	for _, src := range srcs {
		header += "\t" + strings.ToUpper(src.name)
	}
	fmt.Fprintln(tw, header+"\tRUN\tTOOK")
	for _, v := range verdicts {
		by, how := v.killedBy, v.how
		switch {
		case v.setup != nil:
			by, how = "(not judged)", "setup error"
		case !v.killed():
			by, how = "SURVIVED", "-"
		}
		line := fmt.Sprintf("%s\t%s\t%s", v.mutant, by, how)
		for _, src := range srcs {
			killer := v.bySource[src.name]
			if killer == "" {
				killer = "-"
			}
			line += "\t" + killer
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", line, v.ran, v.took.Round(100*time.Millisecond))
	}
	tw.Flush()
	for _, src := range srcs {
		n := 0
		for _, v := range verdicts {
			if v.bySource[src.name] != "" {
				n++
			}
		}
		fmt.Fprintf(w, "%s cases alone kill %d/%d mutants\n", src.name, n, len(verdicts))
	}
}
