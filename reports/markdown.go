package reports

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The Markdown summary is written for CI step summaries (GitHub's
// $GITHUB_STEP_SUMMARY): someone glancing at a pipeline should see the
// outcome in the title, the numbers in one table, then only what needs
// attention, and last what the run covered (coverage.go). Sections with
// nothing in them are left out, so a passing run stays short. Everything
// comes from the set in its own order (or sorted with ties kept in that
// order), so the same set always gives the same bytes.

// worstTimesToEnforce is how many of the slowest enforced cells the summary
// lists: enough to show a pattern, few enough for a glance.
const worstTimesToEnforce = 5

// WriteMarkdown writes set as a Markdown summary.
func WriteMarkdown(w io.Writer, set *result.Set) error {
	var b strings.Builder
	totals := set.Totals()

	fmt.Fprintf(&b, "# netpolcheck: %s\n\n", outcomeTitle(set.Outcome()))
	b.WriteString(runLine(set) + "\n\n")
	writeRunState(&b, set, totals)

	b.WriteString("| total | count |\n|---|---:|\n")
	for _, row := range []struct {
		name  string
		count int
	}{
		{"selected cases", totals.Selected},
		{"ran", totals.Ran},
		{"passed", totals.Passed},
		{"failed", totals.Failed},
		{"errors", totals.Errors},
		{"not run", max(totals.NotRun(), 0)},
		{"undefined cells (not judged)", totals.Cells.Undefined},
		{"leak rounds before convergence", totals.Cells.LeakRounds},
		{"leak rounds after convergence", totals.Cells.LeaksAfterConvergence},
	} {
		fmt.Fprintf(&b, "| %s | %d |\n", row.name, row.count)
	}

	writeFailedCases(&b, set)
	writeErroredCases(&b, set)
	writeTimesToEnforce(&b, set)
	writeLeaks(&b, set)
	writeCoverage(&b, set)

	_, err := io.WriteString(w, b.String())
	return err
}

// outcomeTitle shouts INCOMPLETE: an unfinished run is the one outcome a
// reader could mistake for a result when it is not one.
func outcomeTitle(o result.Outcome) string {
	if o == result.OutcomeIncomplete {
		return "INCOMPLETE"
	}
	return string(o)
}

// runLine is the run's metadata in one line: what was tested, where, by
// which netpolcheck, and for how long.
func runLine(set *result.Set) string {
	r := set.Run
	enforcer := strings.TrimSpace(r.Enforcer.Name + " " + r.Enforcer.Version)
	if enforcer == "" {
		enforcer = r.Enforcer.Kind
	}
	parts := []string{
		"enforcer **" + markdownText(enforcer) + "**",
		"provider " + markdownText(r.Provider),
		"Kubernetes " + markdownText(r.Kubernetes),
		"netpolcheck " + markdownText(r.Netpolcheck),
	}
	if set.End != nil && !r.Start.IsZero() {
		parts = append(parts, "took "+roundForReading(set.End.End.Sub(r.Start)).String())
	}
	if r.ID != "" {
		parts = append(parts, "run "+code(r.ID))
	}
	return strings.Join(parts, " · ")
}

// writeRunState says why a run has no full verdict: it stopped, was
// interrupted, failed itself, or its preflight did not pass.
func writeRunState(b *strings.Builder, set *result.Set, totals result.Totals) {
	var lines []string
	preflightError := ""
	if p := set.Preflight; p != nil && !p.Passed {
		preflightError = "no reason recorded"
		if p.Error != nil {
			preflightError = p.Error.Error()
		}
		lines = append(lines, "**The preflight did not pass:** "+markdownText(preflightError))
	}
	switch {
	case set.End == nil:
		lines = append(lines, fmt.Sprintf("**The run stopped before its end:** %d of %d selected cases ran; the counts cover those only.",
			totals.Ran, totals.Selected))
	case set.End.Error != nil && set.End.Error.Error() == preflightError:
		// netpolcheck run records a failed preflight as the run's error
		// too; once is enough.
	case set.End.Error != nil:
		lines = append(lines, "**The run failed:** "+markdownText(set.End.Error.Error()))
	case set.End.Interrupted != "":
		lines = append(lines, fmt.Sprintf("**Interrupted** while %s: %d of %d selected cases ran.",
			markdownText(set.End.Interrupted), totals.Ran, totals.Selected))
	case !set.Complete():
		lines = append(lines, fmt.Sprintf("**%d of %d selected cases ran.**", totals.Ran, totals.Selected))
	}
	for _, l := range lines {
		b.WriteString(l + "\n\n")
	}
}

func writeFailedCases(b *strings.Builder, set *result.Set) {
	var rows []string
	for _, c := range set.Cases {
		if c.Verdict() != result.Failed {
			continue
		}
		wrong := 0
		for _, s := range c.Steps {
			wrong += len(result.WrongCells(s))
		}
		rows = append(rows, tableRow(tableCell(c.Name), tableCell(c.Profile), fmt.Sprint(wrong), tableCell(c.Failure)))
	}
	writeTable(b, "Failed cases", []string{"case", "profile", "wrong cells", "failure"}, "|---|---|---:|---|", rows)
}

func writeErroredCases(b *strings.Builder, set *result.Set) {
	var rows []string
	for _, c := range set.Cases {
		if c.Verdict() != result.Errored {
			continue
		}
		rows = append(rows, tableRow(tableCell(c.Name), tableCell(c.Profile), tableCell(string(c.Error.Kind)), tableCell(c.Error.Message)))
	}
	writeTable(b, "Infrastructure errors (nothing learned about the enforcer)", []string{"case", "profile", "kind", "message"}, "|---|---|---|---|", rows)
}

// enforcedCell is a cell whose change the enforcer carried out, with where
// it is.
type enforcedCell struct {
	caseName, step string
	cell           result.Cell
}

// writeTimesToEnforce lists the slowest enforced changes and the spread of
// all of them. It takes the same cells as Set.TimesToEnforce (changed, came
// to match, not the reset), so the list and the percentiles agree.
func writeTimesToEnforce(b *strings.Builder, set *result.Set) {
	times := set.TimesToEnforce()
	if len(times) == 0 {
		return
	}
	var cells []enforcedCell
	for _, c := range set.Cases {
		for _, s := range c.Steps {
			if s.Name == result.ResetStep {
				continue
			}
			for _, cell := range s.Cells {
				if cell.Changed && cell.TimeToEnforce != nil {
					cells = append(cells, enforcedCell{c.Name, s.Name, cell})
				}
			}
		}
	}
	// Stable, so that equal times stay in case and cell order.
	slices.SortStableFunc(cells, func(x, y enforcedCell) int {
		return cmp.Compare(*y.cell.TimeToEnforce, *x.cell.TimeToEnforce)
	})
	var rows []string
	for _, e := range cells[:min(len(cells), worstTimesToEnforce)] {
		rows = append(rows, tableRow(tableCell(e.caseName), tableCell(e.step), code(e.cell.Key()), roundForReading(*e.cell.TimeToEnforce).String()))
	}
	sorted := slices.Sorted(slices.Values(times))
	fmt.Fprintf(b, "\n## Time to enforce\n\n%d changed %s came to match: p50 %s, p90 %s, max %s.\n",
		len(sorted), wordFor(len(sorted), "cell", "cells"), roundForReading(percentile(sorted, 50)), roundForReading(percentile(sorted, 90)), roundForReading(sorted[len(sorted)-1]))
	writeTable(b, "", []string{"case", "step", "cell", "time to enforce"}, "|---|---|---|---:|", rows)
}

// percentile is the nearest-rank percentile of sorted (ascending, not
// empty): the smallest value that p percent of the values do not exceed. It
// is always one of the measured times, never an interpolation between two.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := int(math.Ceil(float64(p) / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// writeLeaks lists the denied cells that connected after the step had
// converged: the one failure a reader of a summary must not miss, since
// traffic went through that the policies forbid.
func writeLeaks(b *strings.Builder, set *result.Set) {
	var rows []string
	for _, c := range set.Cases {
		if c.Totals().LeaksAfterConvergence == 0 {
			continue
		}
		for _, s := range c.Steps {
			for _, cell := range s.Cells {
				if cell.LeaksAfterConvergence > 0 {
					rows = append(rows, tableRow(tableCell(c.Name), tableCell(s.Name), code(cell.Key()), string(cell.Expected), string(cell.Observed), fmt.Sprint(cell.LeaksAfterConvergence)))
				}
			}
		}
	}
	writeTable(b, "Leaks after convergence", []string{"case", "step", "cell", "expected", "observed", "rounds"}, "|---|---|---|---|---|---:|", rows)
}

// writeTable writes a table of rows under a level-2 heading (none when
// title is empty); no rows, no table.
func writeTable(b *strings.Builder, title string, header []string, align string, rows []string) {
	if len(rows) == 0 {
		return
	}
	if title != "" {
		fmt.Fprintf(b, "\n## %s\n", title)
	}
	b.WriteString("\n" + tableRow(header...) + align + "\n")
	for _, r := range rows {
		b.WriteString(r)
	}
}

// tableRow is one Markdown table row of cells already escaped (tableCell)
// or formatted (code).
func tableRow(cells ...string) string {
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// code is s as a code span, for cell keys and other machine names: "->"
// and "/" read better unescaped. Inside a span only a backtick would end it
// and, in a table, a "|" the cell.
func code(s string) string {
	s = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ").Replace(s)
	return "`" + s + "`"
}

// markdownText escapes what Markdown would read as markup in running text,
// so a case name or an error message shows as written.
func markdownText(s string) string {
	return markdownEscaper.Replace(s)
}

var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "&", "&amp;", "<", "&lt;",
	"*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "~", `\~`, "|", `\|`,
)

// tableCell escapes s for a table cell: a "|" would end the cell and a
// newline the row, so newlines become <br> (which GitHub renders).
func tableCell(s string) string {
	s = markdownText(strings.TrimRight(s, "\r\n"))
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "<br>")
}

// roundForReading rounds d to what a reader compares: milliseconds under a
// minute, seconds past it (as the HTML report does).
func roundForReading(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
