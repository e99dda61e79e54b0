package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
	"github.com/netpolcheck/netpolcheck/suites/shrink"
)

// run --shrink and replay --shrink: a failed case is reduced on the cluster
// that failed it, so the user hands over the few policies and pods that show
// the bug instead of the whole case, as a file replay runs anywhere.

// shrunkDir is the directory of the report directory that holds them, and
// shrunkSuffix ends their names.
const (
	shrunkDir    = "shrunk"
	shrunkSuffix = " (shrunk)"
)

// shrinkBudget bounds the search per case: every attempt runs the case on
// the cluster, and a failing attempt waits its whole deadline.
const shrinkBudget = 10 * time.Minute

// shrinker shrinks the failed cases of one run and writes them.
type shrinker struct {
	flags    runFlags
	dir      string
	report   io.Writer
	progress *progress
	// slugs are the file names taken so far, so two cases never share one.
	slugs map[string]bool
}

func newShrinker(f runFlags, reportDir string, report io.Writer, p *progress) *shrinker {
	return &shrinker{flags: f, dir: filepath.Join(reportDir, shrunkDir), report: report, progress: p, slugs: map[string]bool{}}
}

// shrink reduces c, which failed as res says, on r's cluster (Runner.Run
// resets it before every attempt), keeping only candidates that fail the
// same way (shrink.Reproduces), then runs the result once more to confirm
// and writes it. Problems are printed, never fatal: the run's verdict is the
// case's, not its shrinking's. Interrupted, it writes what it reached, a
// case that failed, and returns.
func (s *shrinker) shrink(ctx context.Context, r *runner.Runner, c cases.Case, res result.Case) {
	stillFails := shrink.Reproduces(r.Run, res)
	sig, size := shrink.SignatureOf(res), shrink.Size(c)
	minimal, st, err := shrink.Shrink(ctx, c, stillFails, shrink.WithTimeout(shrinkBudget),
		shrink.WithObserver(func(a shrink.Attempt) {
			verdict := "does not fail the same way"
			if a.Fails {
				verdict = "still fails: taken"
			}
			s.progress.status("shrinking %q (%s): size %d of %d after attempt %d: %s %s: %s", c.Name, sig, a.Best, size, a.N, a.Kind, a.What, verdict)
		}))
	s.progress.clear()
	interrupted := err != nil
	if !interrupted && st.Size < st.OriginalSize {
		// Each candidate was judged by one run; a flaky cell could have
		// let through a case that does not fail.
		if fails, cerr := stillFails(ctx, minimal); cerr != nil {
			interrupted = true
		} else if !fails {
			printError(s.report, fmt.Errorf("shrinking %q: the minimal case did not fail again when run once more (a flaky cell?); it is written all the same", c.Name))
		}
	}
	if interrupted && st.Size == st.OriginalSize {
		return // nothing reached worth a file
	}
	if !strings.HasSuffix(minimal.Name, shrunkSuffix) {
		minimal.Name += shrunkSuffix // replay tells it from the original
	}
	minimal = cases.WithDerivedFeatures(minimal)
	path, werr := s.write(minimal)
	if werr != nil {
		printError(s.report, fmt.Errorf("shrinking %q: %w", c.Name, werr))
		return
	}
	how := fmt.Sprintf("in %d attempts, %s", st.Attempts, st.Took.Round(100*time.Millisecond))
	switch {
	case interrupted:
		how += ", interrupted: not minimal"
	case st.Stopped != "":
		how += fmt.Sprintf(", stopped by the %s budget: not minimal", st.Stopped)
	}
	fmt.Fprintf(s.report, "shrunk %q (%s) from size %d to %d %s: %s\n", c.Name, sig, st.OriginalSize, st.Size, how, path)
	fmt.Fprintf(s.report, "reproduce: %s\n", replayCommand(s.flags, path))
}

// write stores the case as YAML under shrunk/, named after the case.
func (s *shrinker) write(c cases.Case) (string, error) {
	data, err := cases.Marshal(c)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return "", err
	}
	base := slug(strings.TrimSuffix(c.Name, shrunkSuffix))
	name := base
	for i := 2; s.slugs[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	s.slugs[name] = true
	path := filepath.Join(s.dir, name+".yaml")
	return path, os.WriteFile(path, data, 0o644)
}

// slugMax keeps file names readable and well under file system limits.
const slugMax = 80

// slug is a case name as a file name: lower-case letters and digits, every
// other run of characters one dash.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	out := b.String()
	if len(out) > slugMax {
		out = strings.TrimRight(out[:slugMax], "-")
	}
	if out == "" {
		return "case"
	}
	return out
}

// replayCommand is the command line that runs the shrunk case on a cluster
// like this run's: the flags that chose the cluster and the enforcer under
// test, when they are not the defaults.
func replayCommand(f runFlags, path string) string {
	args := []string{"netpolcheck", "replay"}
	add := func(flag, value, def string) {
		if value != def {
			args = append(args, flag, shellQuote(value))
		}
	}
	add("--cluster", f.cluster, "netns")
	add("--enforcer", f.enforcer, clusters.EnforcerReference)
	add("--enforcer-manifests", f.enforcerManifests, "")
	add("--cni", f.cni, clusters.CNIBuiltin)
	add("--kubeconfig", f.kubeconfig, "")
	add("--context", f.context, "")
	add("--deny-action", f.denyAction, "reject")
	return strings.Join(append(args, shellQuote(path)), " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
