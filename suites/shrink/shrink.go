package shrink

import (
	"context"
	"time"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Predicate says whether a candidate still shows the bug the original case
// showed. It is the caller's: on a cluster it runs the case and judges the
// result (Reproduces); in tests it can be any property. An error stops the
// search (the run was interrupted); a candidate that cannot be judged is
// simply not failing.
type Predicate func(ctx context.Context, c cases.Case) (bool, error)

// DefaultMaxAttempts bounds a search that no option bounds: each attempt
// runs a case on a cluster, and a few hundred are minutes.
const DefaultMaxAttempts = 200

type config struct {
	maxAttempts int
	timeout     time.Duration
	observe     func(Attempt)
}

// Option adjusts Shrink.
type Option func(*config)

// WithMaxAttempts bounds how many candidates the predicate judges (default
// DefaultMaxAttempts; 0 or less: no bound).
func WithMaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// WithTimeout stops the search once d has passed; the attempt under way
// finishes, so the case returned is one the predicate judged.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithObserver calls observe after every attempt, for progress lines.
func WithObserver(observe func(Attempt)) Option { return func(c *config) { c.observe = observe } }

// Attempt is one candidate the predicate judged.
type Attempt struct {
	// N counts attempts from 1.
	N    int
	Kind Kind
	// What names the part cut, e.g. "step 1 action 2 (createPolicy x/p):
	// spec.ingress[0].from[1]".
	What string
	// Size is the candidate's; Best the smallest failing case's after this
	// attempt.
	Size, Best int
	// Fails: the candidate still failed and is the new best.
	Fails bool
	Took  time.Duration
}

// Stats says what a search did.
type Stats struct {
	// OriginalSize and Size are the original's and the result's (Size).
	OriginalSize, Size int
	// Attempts counts the candidates the predicate judged; Accepted those
	// that still failed, by kind.
	Attempts int
	Accepted map[Kind]int
	Took     time.Duration
	// Minimal: a whole pass over the result's candidates found none that
	// still fails, so no single cut of any kind keeps the bug. False when a
	// budget or an error stopped the search first.
	Minimal bool
	// Stopped says which budget ended the search early ("" when none did).
	Stopped string
}

// Shrink reduces c, which the predicate says fails, to a smaller case that
// still fails: greedy delta debugging over Candidates. It walks the
// candidate list in order and takes the first that still fails; the list
// is then rebuilt from the new case and the walk goes on from the same
// position, since the earlier cuts were just refused on a larger case. A
// walk that reaches the end after taking something starts a new pass; a
// pass that takes nothing proves the result minimal. Candidates that were
// refused are remembered (by their YAML), so none runs twice.
//
// The result is always a case the predicate judged failing (c itself if
// nothing smaller fails); on an error it comes back with what was reached.
func Shrink(ctx context.Context, c cases.Case, stillFails Predicate, opts ...Option) (best cases.Case, st Stats, err error) {
	cfg := config{maxAttempts: DefaultMaxAttempts, observe: func(Attempt) {}}
	for _, opt := range opts {
		opt(&cfg)
	}
	start := time.Now()
	best = c
	st = Stats{OriginalSize: Size(c), Size: Size(c), Accepted: map[Kind]int{}}
	defer func() { st.Took = time.Since(start) }()

	refused := map[string]bool{}
	list := candidates(best)
	pos, taken := 0, false
	for {
		if pos >= len(list) {
			if !taken {
				st.Minimal = true
				break
			}
			pos, taken = 0, false
			continue
		}
		if err := ctx.Err(); err != nil {
			return best, st, err
		}
		if cfg.maxAttempts > 0 && st.Attempts >= cfg.maxAttempts {
			st.Stopped = "max attempts"
			break
		}
		if cfg.timeout > 0 && time.Since(start) >= cfg.timeout {
			st.Stopped = "timeout"
			break
		}
		cand := list[pos]
		key, known := fingerprint(cand.c)
		if known && refused[key] {
			pos++
			continue
		}
		st.Attempts++
		t0 := time.Now()
		var fails bool
		fails, err = stillFails(ctx, cand.c)
		if err != nil {
			return best, st, err
		}
		if fails {
			best, taken = cand.c, true
			st.Accepted[cand.kind]++
			st.Size = Size(best)
			list = candidates(best)
		} else {
			if known {
				refused[key] = true
			}
			pos++
		}
		cfg.observe(Attempt{N: st.Attempts, Kind: cand.kind, What: cand.what, Size: Size(cand.c), Best: st.Size, Fails: fails, Took: time.Since(t0)})
	}
	return best, st, nil
}

// fingerprint identifies a candidate by its YAML: two cuts that give the
// same case (two equal selectors each losing the same key) run once.
func fingerprint(c cases.Case) (string, bool) {
	data, err := cases.Marshal(c)
	return string(data), err == nil
}
