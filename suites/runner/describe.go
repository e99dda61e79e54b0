package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// maxExplained bounds how many wrong cells a description explains.
const maxExplained = 12

// Legend explains the glyphs of the grids Describe prints.
const Legend = `expected: . allowed  X denied  ? undefined (not judged)
observed: . connected  X rejected  D timeout (dropped)  R refused  W wrong peer  E error
compare:  . match  X wrong  U unproven (path or server down)  ? not judged  L leaked after convergence  (blank: port not served)`

// Describe renders a case result for a person: one line when it passed;
// otherwise, for the failed step, the expected, observed and comparison
// grids side by side per port, then the wrong cells with the model's reasons.
func Describe(res CaseResult) string {
	var b strings.Builder
	status := "PASS"
	if !res.Passed {
		status = "FAIL"
	}
	undefined := 0
	for _, sr := range res.Steps {
		undefined += sr.Summary.Undefined
	}
	fmt.Fprintf(&b, "%s %s (%s", status, res.Name, res.Duration.Round(time.Millisecond))
	if undefined > 0 {
		fmt.Fprintf(&b, "; %d undefined cells, not judged", undefined)
	}
	b.WriteString(")\n")
	if res.Error != "" {
		fmt.Fprintf(&b, "  infrastructure error: %s\n", res.Error)
	}
	if res.Failure != "" {
		fmt.Fprintf(&b, "  failure: %s\n", res.Failure)
	}
	for _, sr := range res.Steps {
		if sr.Passed {
			continue
		}
		describeStep(&b, sr)
	}
	return b.String()
}

func describeStep(b *strings.Builder, sr StepResult) {
	s := sr.Summary
	fmt.Fprintf(b, "\nstep %q: %d of %d judged cells wrong, %d unproven, %d undefined, %d errors; converged: %v; %d rounds within %s\n",
		sr.Name, s.Mismatched, s.Judged, s.Unproven, s.Undefined, s.Errors, sr.Converged, sr.Rounds, sr.Deadline)
	if s.LeaksAfterConvergence > 0 {
		fmt.Fprintf(b, "  %d leaks after convergence (a denied cell observed connected)\n", s.LeaksAfterConvergence)
	}
	if s.LostAfterConvergence > 0 {
		fmt.Fprintf(b, "  %d losses after convergence (an allowed cell stopped connecting)\n", s.LostAfterConvergence)
	}
	switch {
	case s.LeakRounds > 0 && sr.Converged:
		fmt.Fprintf(b, "  %d transient leaks before convergence\n", s.LeakRounds)
	case s.LeakRounds > 0:
		fmt.Fprintf(b, "  %d cell-rounds leaked (a denied cell connected; the step never converged)\n", s.LeakRounds)
	}
	if s.UnprovenRounds > 0 {
		fmt.Fprintf(b, "  %d cell-rounds unproven (did not connect while the path or the server was not proven up)\n", s.UnprovenRounds)
	}
	if len(sr.Cells) == 0 {
		return
	}
	b.WriteString("\n" + Legend + "\n")
	for _, pp := range sr.Ports {
		writeGrids(b, sr, pp)
	}
	n := 0
	for _, c := range sr.Cells {
		if (c.Expected == model.Undefined || c.Match) && c.LeaksAfterConvergence == 0 {
			continue
		}
		if n == 0 {
			b.WriteString("\nwrong cells:\n")
		}
		if n++; n > maxExplained {
			fmt.Fprintf(b, "  ... and %d more\n", s.Mismatched+s.Unproven-maxExplained)
			break
		}
		fmt.Fprintf(b, "  %s -> %s %d/%s: expected %s, observed %s", c.From, c.To, c.Port, c.Protocol, c.Expected, c.Observed)
		if c.Unproven {
			fmt.Fprintf(b, " (unproven: %s)", c.Unverified)
		}
		if c.LeaksAfterConvergence > 0 {
			fmt.Fprintf(b, " (leaked %d rounds after convergence)", c.LeaksAfterConvergence)
		}
		if c.Detail != "" {
			fmt.Fprintf(b, ": %s", c.Detail)
		}
		b.WriteString("\n")
		for _, r := range c.Reasons {
			fmt.Fprintf(b, "      %-7s %-11s %s\n", r.Direction, r.Clause, r.Text)
		}
	}
	writeUndefined(b, sr)
}

// writeUndefined lists the implementation-defined cells and what the
// cluster did with them.
func writeUndefined(b *strings.Builder, sr StepResult) {
	n := 0
	for _, c := range sr.Cells {
		if c.Expected != model.Undefined {
			continue
		}
		if n == 0 {
			b.WriteString("\nundefined cells (implementation-defined, not judged):\n")
		}
		if n++; n > maxExplained {
			fmt.Fprintf(b, "  ... and %d more\n", sr.Summary.Undefined-maxExplained)
			break
		}
		fmt.Fprintf(b, "  %s -> %s %d/%s: observed %s\n", c.From, c.To, c.Port, c.Protocol, c.Observed)
	}
}

// writeGrids prints expected | observed | comparison for one port: rows
// are sources, columns destinations.
func writeGrids(b *strings.Builder, sr StepResult, pp model.PortProtocol) {
	byKey := map[[2]string]Cell{}
	for _, c := range sr.Cells {
		if c.Port == pp.Port && c.Protocol == string(pp.Protocol) {
			byKey[[2]string{c.From, c.To}] = c
		}
	}
	col := 1
	for _, p := range sr.Pods {
		col = max(col, len(p))
	}
	label := max(col, len(pp.String()))
	pad := func(s string, w int) string { return s + strings.Repeat(" ", max(w-len(s), 0)) }
	center := func(s string) string {
		left := (col - len(s)) / 2
		return pad(strings.Repeat(" ", left)+s, col)
	}
	titles := []string{"expected", "observed", "comparison"}
	glyphs := []func(Cell) string{expectedGlyph, observedGlyph, compareGlyph}
	block := max((col+1)*len(sr.Pods), len(" comparison"))

	var title, header strings.Builder
	title.WriteString(pad("", label))
	header.WriteString(pad(pp.String(), label))
	for _, t := range titles {
		title.WriteString("  |" + pad(" "+t, block))
		var names strings.Builder
		for _, p := range sr.Pods {
			names.WriteString(" " + pad(p, col))
		}
		header.WriteString("  |" + pad(names.String(), block))
	}
	b.WriteString("\n" + strings.TrimRight(title.String(), " ") + "\n" + strings.TrimRight(header.String(), " ") + "\n")
	for _, from := range sr.Pods {
		var row strings.Builder
		row.WriteString(pad(from, label))
		for g := range titles {
			var cells strings.Builder
			for _, to := range sr.Pods {
				glyph := " "
				if c, ok := byKey[[2]string{from, to}]; ok {
					glyph = glyphs[g](c)
				}
				cells.WriteString(" " + center(glyph))
			}
			row.WriteString("  |" + pad(cells.String(), block))
		}
		b.WriteString(strings.TrimRight(row.String(), " ") + "\n")
	}
}

func expectedGlyph(c Cell) string {
	switch c.Expected {
	case model.Allowed:
		return "."
	case model.Denied:
		return "X"
	}
	return "?"
}

func observedGlyph(c Cell) string {
	switch c.Observed {
	case agent.Connected:
		return "."
	case agent.Rejected:
		return "X"
	case agent.Timeout:
		return "D"
	case agent.Refused:
		return "R"
	case agent.WrongPeer:
		return "W"
	}
	return "E"
}

func compareGlyph(c Cell) string {
	switch {
	case c.LeaksAfterConvergence > 0:
		return "L"
	case c.Expected == model.Undefined:
		return "?"
	case c.Match:
		return "."
	case c.Unproven:
		return "U"
	}
	return "X"
}
