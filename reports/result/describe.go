package result

import (
	"fmt"
	"strings"
	"time"
)

// maxExplained bounds how many wrong cells a description explains.
const maxExplained = 12

// Describe renders a case for a terminal: one line when it passed;
// otherwise, for the step that did not pass, the expected, observed and
// comparison grids side by side per port, then the wrong cells with the
// model's reasons. JUnit failure text is the same.
func Describe(c Case) string {
	var b strings.Builder
	status := "PASS"
	switch c.Verdict() {
	case Failed:
		status = "FAIL"
	case Errored:
		status = "ERROR"
	}
	t := c.Totals()
	fmt.Fprintf(&b, "%s %s (%s", status, c.Name, c.Duration.Round(time.Millisecond))
	if t.Undefined > 0 {
		fmt.Fprintf(&b, "; %d undefined cells, not judged", t.Undefined)
	}
	b.WriteString(")\n")
	if c.Error != nil {
		fmt.Fprintf(&b, "  infrastructure error: %s\n", c.Error.Message)
	}
	if c.Failure != "" {
		fmt.Fprintf(&b, "  failure: %s\n", c.Failure)
	}
	for _, s := range c.Steps {
		if !s.Passed {
			describeStep(&b, s)
		}
	}
	return b.String()
}

func describeStep(b *strings.Builder, s Step) {
	sum := s.Summary
	fmt.Fprintf(b, "\nstep %q: %d of %d judged cells wrong, %d unproven, %d undefined, %d errors; converged: %v; %d rounds within %s\n",
		s.Name, sum.Mismatched, sum.Judged, sum.Unproven, sum.Undefined, sum.Errors, s.Converged, s.Rounds, s.Deadline)
	if sum.LeaksAfterConvergence > 0 {
		fmt.Fprintf(b, "  %d leaks after convergence (a denied cell observed connected)\n", sum.LeaksAfterConvergence)
	}
	if sum.LostAfterConvergence > 0 {
		fmt.Fprintf(b, "  %d losses after convergence (an allowed cell stopped connecting)\n", sum.LostAfterConvergence)
	}
	// A step that leaked or lost cells after convergence had converged
	// stably before, even if it did not end converged.
	wasStable := s.Converged || sum.LeaksAfterConvergence > 0 || sum.LostAfterConvergence > 0 || sum.Flips > 0
	switch {
	case sum.LeakRounds > 0 && wasStable:
		fmt.Fprintf(b, "  %d transient leaks before convergence\n", sum.LeakRounds)
	case sum.LeakRounds > 0:
		fmt.Fprintf(b, "  %d cell-rounds leaked (a denied cell connected; the step never converged)\n", sum.LeakRounds)
	}
	if sum.UnprovenRounds > 0 {
		fmt.Fprintf(b, "  %d cell-rounds unproven (did not connect while the path or the server was not proven up)\n", sum.UnprovenRounds)
	}
	if len(s.Cells) == 0 {
		return
	}
	b.WriteString("\n" + Legend + "\n")
	for _, g := range Grids(s) {
		b.WriteString("\n")
		_ = WriteGrids(b, Blocks(g)...) // three views of one grid always fit
	}
	writeWrongCells(b, s)
	writeUndefined(b, s)
}

// WrongCells lists the cells of the step a report points at.
func WrongCells(s Step) []Cell {
	var out []Cell
	for _, c := range s.Cells {
		if c.Wrong() {
			out = append(out, c)
		}
	}
	return out
}

// Explain is one wrong cell in words, then the model's reasons, one per
// line, indented.
func Explain(c Cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: expected %s, observed %s", c.Key(), c.Expected, c.Observed)
	if c.Unproven {
		fmt.Fprintf(&b, " (unproven: %s)", c.Unverified)
	}
	if c.LeaksAfterConvergence > 0 {
		fmt.Fprintf(&b, " (leaked %d rounds after convergence)", c.LeaksAfterConvergence)
	}
	if c.Detail != "" {
		fmt.Fprintf(&b, ": %s", c.Detail)
	}
	b.WriteString("\n")
	for _, r := range c.Reasons {
		fmt.Fprintf(&b, "    %-7s %-11s %s\n", r.Direction, r.Clause, r.Text)
	}
	return b.String()
}

func writeWrongCells(b *strings.Builder, s Step) {
	wrong := WrongCells(s)
	for n, c := range wrong {
		if n == 0 {
			b.WriteString("\nwrong cells:\n")
		}
		if n == maxExplained {
			fmt.Fprintf(b, "  ... and %d more\n", len(wrong)-maxExplained)
			break
		}
		b.WriteString("  " + strings.ReplaceAll(strings.TrimSuffix(Explain(c), "\n"), "\n", "\n  ") + "\n")
	}
}

// writeUndefined lists the implementation-defined cells and what the
// cluster did with them.
func writeUndefined(b *strings.Builder, s Step) {
	n := 0
	for _, c := range s.Cells {
		if c.Judged() {
			continue
		}
		if n == 0 {
			b.WriteString("\nundefined cells (implementation-defined, not judged):\n")
		}
		if n++; n > maxExplained {
			fmt.Fprintf(b, "  ... and %d more\n", s.Summary.Undefined-maxExplained)
			break
		}
		fmt.Fprintf(b, "  %s: observed %s\n", c.Key(), c.Observed)
	}
}
