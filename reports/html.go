package reports

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The HTML report is one file a person opens from a CI artifact or a mail,
// often offline or behind a proxy: everything it needs (styles, script, the
// plot) is inside it, and it fetches nothing. It renders the result model
// and computes no verdict of its own: counts come from result.Set.Totals,
// grids from result.Grids, glyphs from Cell.Glyph, so the page shows what
// the terminal shows.
//
// The templates get view structs built here, not the result model: the
// decisions of what to show (which case is open, which cell is wrong, what
// a tooltip says) are Go code a test can read, and the templates only lay
// them out.

//go:embed html
var htmlFiles embed.FS

// htmlTemplates parses the embedded templates once; a template that does not
// parse is a programming error caught by every test of the package.
var htmlTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(mustRead("html/report.css")) },
	"js":  func() template.JS { return template.JS(mustRead("html/report.js")) },
}).ParseFS(htmlFiles, "html/*.tmpl"))

func mustRead(name string) string {
	b, err := htmlFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// maxWrongListed bounds the wrong cells a step lists under its grids; the
// grids mark every one of them anyway.
const maxWrongListed = 50

// WriteHTML writes set as one self-contained HTML page.
func WriteHTML(w io.Writer, set *result.Set) error {
	v, err := newReportView(set)
	if err != nil {
		return err
	}
	return htmlTemplates.ExecuteTemplate(w, "report.html.tmpl", v)
}

// reportView is what the report template lays out.
type reportView struct {
	Title      string
	Outcome    string
	Run        []metaItem
	Incomplete string // the banner's text; "" for a complete run
	RunError   string // the run's own failure, or what interrupted it
	Counts     []countItem
	Preflight  *preflightView
	Plot       enforcePlot
	Cases      []caseView
	Legend     string
}

// metaItem is one labelled fact about a run.
type metaItem struct{ Label, Value string }

// countItem is one number of the summary. Key is the stable name a test or
// a script reads (data-count), Tone how it is coloured.
type countItem struct {
	Key, Label string
	N          int
	Tone       string
}

type preflightView struct {
	Passed bool
	Line   string
	Error  string
	Case   *caseView // the preflight's grids, when it failed
}

type caseView struct {
	ID       string
	Name     string
	Profile  string
	Verdict  string
	Open     bool
	Why      string
	Duration string
	Features string
	Clauses  string
	Cells    string // the case's cell counts in words
	Steps    []stepView
	// Reproduce is the failing step's manifests, with a title.
	ReproduceTitle, Reproduce string
}

type stepView struct {
	Name    string
	Verdict string
	Error   string
	Failure string
	Facts   string
	Grids   []gridView
	Wrong   []string // result.Explain of the wrong cells
	More    int      // wrong cells not listed
}

type gridView struct {
	Port string
	Cols []string
	Rows []gridRow
}

type gridRow struct {
	From  string
	Cells []cellView
}

// cellView is one <td>. A cell the destination does not serve has only
// Served false.
type cellView struct {
	Served     bool
	Key        string
	Expected   string
	Observed   string
	Wrong      bool
	Comparison string // match, wrong, unproven, undefined, leak
	Exp        string // the glyphs of the three views
	Obs        string
	Cmp        string
	Detail     string // the tooltip and the detail panel
}

func newReportView(set *result.Set) (reportView, error) {
	t := set.Totals()
	v := reportView{
		Title:   "netpolcheck report " + set.Run.ID,
		Outcome: string(set.Outcome()),
		Run:     runMeta(set.Run, set.End),
		Legend:  result.Legend,
	}
	if !set.Complete() {
		v.Incomplete = fmt.Sprintf("INCOMPLETE: %d of %d selected cases ran", t.Ran, t.Selected)
		if set.End == nil {
			v.Incomplete += "; the run was stopped before it ended, so this report is not a verdict on the enforcer."
		} else {
			v.Incomplete += "; the run did not finish its selection, so this report is not a verdict on the enforcer."
		}
	}
	if set.End != nil {
		switch {
		case set.End.Error != nil:
			v.RunError = "The run failed: " + set.End.Error.Error()
		case set.End.Interrupted != "":
			v.RunError = "The run was interrupted while " + set.End.Interrupted
		}
	}
	v.Counts = []countItem{
		{"passed", "passed", t.Passed, "passed"},
		{"failed", "failed", t.Failed, "failed"},
		{"errors", "errors", t.Errors, "error"},
		{"not-run", "not run", t.NotRun(), "warn"},
		{"leak-rounds", "leak rounds before convergence", t.Cells.LeakRounds, "warn"},
		{"leaks-after-convergence", "leaks after convergence", t.Cells.LeaksAfterConvergence, "failed"},
		{"undefined", "undefined cells (not judged)", t.Cells.Undefined, "undefined"},
	}
	for i := range v.Counts {
		if v.Counts[i].N == 0 {
			v.Counts[i].Tone = "zero"
		}
	}
	if p := set.Preflight; p != nil {
		pv := &preflightView{Passed: p.Passed, Line: fmt.Sprintf("in %s", roundDuration(p.Duration))}
		if p.CanaryEnforcedIn > 0 {
			pv.Line += fmt.Sprintf("; the canary policy was enforced in %s", roundDuration(p.CanaryEnforcedIn))
		}
		if p.Error != nil {
			pv.Error = p.Error.Error()
		}
		if !p.Passed && len(p.Case.Steps) > 0 {
			cv := newCaseView("preflight", p.Case)
			pv.Case = &cv
		}
		v.Preflight = pv
	}
	var err error
	if v.Plot, err = timeToEnforcePlot(set.TimesToEnforce()); err != nil {
		return reportView{}, err
	}
	for i, c := range set.Cases {
		v.Cases = append(v.Cases, newCaseView(fmt.Sprintf("case-%d", i+1), c))
	}
	return v, nil
}

// runMeta lists what a reader needs to know which run this is and where it
// ran. The enforcer's project URL is text, not a link: the page makes no
// request, not even one a click would start.
func runMeta(r result.Run, end *result.End) []metaItem {
	enforcer := r.Enforcer.Name
	if r.Enforcer.Version != "" {
		enforcer += " " + r.Enforcer.Version
	}
	if r.Enforcer.Kind != "" {
		enforcer += " (" + r.Enforcer.Kind + ")"
	}
	harness := r.Netpolcheck
	if r.Commit != "" {
		harness += " (" + r.Commit + ")"
	}
	duration := "unknown: the run did not end"
	if end != nil {
		duration = roundDuration(end.End.Sub(r.Start))
	}
	start := ""
	if !r.Start.IsZero() {
		start = r.Start.UTC().Format(time.RFC3339)
	}
	seed := ""
	if r.Seed != 0 {
		seed = fmt.Sprint(r.Seed)
	}
	var items []metaItem
	// A fact the run did not record is left out rather than shown blank.
	for _, m := range []metaItem{
		{"run", r.ID},
		{"enforcer", enforcer},
		{"enforcer project", r.Enforcer.URL},
		{"provider", r.Provider},
		{"cluster", r.Cluster},
		{"Kubernetes", r.Kubernetes},
		{"netpolcheck", harness},
		{"suite", r.Suite},
		{"start", start},
		{"duration", duration},
		{"selected cases", fmt.Sprint(r.Selected)},
		{"seed", seed},
	} {
		if m.Value != "" {
			items = append(items, m)
		}
	}
	if len(r.Library) > 0 {
		var lib []string
		for _, p := range result.Profiles() {
			if n, ok := r.Library[p]; ok {
				lib = append(lib, fmt.Sprintf("%s %d", p, n))
			}
		}
		items = append(items, metaItem{"library", strings.Join(lib, ", ")})
	}
	return items
}

// newCaseView lays out a case; a case that did not pass opens by default,
// because that is what a reader came for.
func newCaseView(id string, c result.Case) caseView {
	cv := caseView{
		ID: id, Name: c.Name, Profile: c.Profile, Verdict: string(c.Verdict()),
		Open:     c.Verdict() != result.Passed,
		Why:      c.Why(),
		Duration: roundDuration(c.Duration),
	}
	cv.Features = strings.Join(c.Features, ", ")
	var clauses []string
	for _, cl := range c.Clauses {
		clauses = append(clauses, string(cl))
	}
	cv.Clauses = strings.Join(clauses, ", ")
	t := c.Totals()
	cv.Cells = fmt.Sprintf("%d cells: %d judged, %d matched, %d wrong, %d undefined, %d probe errors", t.Cells, t.Judged, t.Matched, t.Mismatched, t.Undefined, t.Errors)
	for _, s := range c.Steps {
		cv.Steps = append(cv.Steps, newStepView(s))
	}
	if r := c.Reproduce; r != nil && r.Manifests != "" {
		cv.ReproduceTitle = fmt.Sprintf("manifests that rebuild step %d (%s), probing %s: kubectl apply -f", r.Step, r.StepName, strings.Join(r.Probes, ", "))
		cv.Reproduce = r.Manifests
	}
	return cv
}

func newStepView(s result.Step) stepView {
	sv := stepView{Name: s.Name, Verdict: string(s.Verdict()), Failure: s.Failure}
	if s.Error != nil {
		sv.Error = s.Error.Error()
	}
	sum := s.Summary
	facts := []string{
		fmt.Sprintf("%d of %d judged cells wrong", sum.Mismatched, sum.Judged),
		fmt.Sprintf("%d undefined", sum.Undefined),
		fmt.Sprintf("%d probe errors", sum.Errors),
		fmt.Sprintf("%d unproven", sum.Unproven),
	}
	if s.Converged {
		facts = append(facts, "converged in "+roundDuration(s.TimeToConverge))
	} else {
		facts = append(facts, "did not converge")
	}
	facts = append(facts, fmt.Sprintf("%d rounds within %s", s.Rounds, roundDuration(s.Deadline)))
	if sum.LeakRounds > 0 {
		facts = append(facts, fmt.Sprintf("%d leak rounds before convergence", sum.LeakRounds))
	}
	if sum.LeaksAfterConvergence > 0 {
		facts = append(facts, fmt.Sprintf("%d leaks after convergence", sum.LeaksAfterConvergence))
	}
	if sum.LostAfterConvergence > 0 {
		facts = append(facts, fmt.Sprintf("%d losses after convergence", sum.LostAfterConvergence))
	}
	if sum.Flips > 0 {
		facts = append(facts, fmt.Sprintf("%d flips", sum.Flips))
	}
	sv.Facts = strings.Join(facts, "; ")
	// A step that probed nothing (its actions failed) has ports but no
	// cells: blank grids would read as "port not served" everywhere.
	if len(s.Cells) > 0 {
		for _, g := range result.Grids(s) {
			sv.Grids = append(sv.Grids, newGridView(g))
		}
	}
	wrong := result.WrongCells(s)
	for i, c := range wrong {
		if i == maxWrongListed {
			sv.More = len(wrong) - maxWrongListed
			break
		}
		sv.Wrong = append(sv.Wrong, strings.TrimSuffix(result.Explain(c), "\n"))
	}
	return sv
}

func newGridView(g result.Grid) gridView {
	gv := gridView{Port: g.Port.String()}
	for _, p := range g.Pods {
		gv.Cols = append(gv.Cols, p.String())
	}
	for r, from := range g.Pods {
		row := gridRow{From: from.String()}
		for c := range g.Pods {
			row.Cells = append(row.Cells, newCellView(g.Cell(r, c)))
		}
		gv.Rows = append(gv.Rows, row)
	}
	return gv
}

// comparisonClass names the comparison glyphs for CSS and scripts.
var comparisonClass = map[string]string{
	".": "match", "X": "wrong", "U": "unproven", "?": "undefined", "L": "leak",
}

func newCellView(c *result.Cell) cellView {
	if c == nil {
		return cellView{}
	}
	cmp := c.Glyph(result.Comparison)
	observed := string(c.Observed)
	if observed == "" {
		observed = string(agent.Error)
	}
	return cellView{
		Served:     true,
		Key:        c.Key(),
		Expected:   string(c.Expected),
		Observed:   observed,
		Wrong:      c.Wrong(),
		Comparison: comparisonClass[cmp],
		Exp:        c.Glyph(result.Expected),
		Obs:        c.Glyph(result.Observed),
		Cmp:        cmp,
		Detail:     cellDetail(*c),
	}
}

// comparisonWords says a comparison glyph in words, for the detail text.
var comparisonWords = map[string]string{
	".": "match", "X": "WRONG", "U": "unproven (path or server not proven up)",
	"?": "not judged (implementation-defined)", "L": "WRONG: leaked after convergence",
}

// cellDetail is everything known about one cell, in the lines a person
// reads on hover or in the detail panel: the model's decision and its
// reasons, what the probe saw, and how the cell behaved over the rounds.
func cellDetail(c result.Cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.Key(), comparisonWords[c.Glyph(result.Comparison)])
	fmt.Fprintf(&b, "expected: %s", c.Expected)
	if c.Changed {
		b.WriteString(" (changed by this step)")
	}
	b.WriteString("\n")
	for _, r := range c.Reasons {
		b.WriteString("  " + reasonText(r) + "\n")
	}
	observed := string(c.Observed)
	if observed == "" {
		observed = string(agent.Error)
	}
	fmt.Fprintf(&b, "observed: %s", observed)
	if c.Detail != "" {
		fmt.Fprintf(&b, " (%s)", c.Detail)
	}
	b.WriteString("\n")
	if c.Unproven || c.UnprovenRounds > 0 {
		fmt.Fprintf(&b, "unproven: %s (%d rounds)\n", c.Unverified, c.UnprovenRounds)
	}
	switch {
	case c.TimeToEnforce != nil:
		fmt.Fprintf(&b, "time to enforce: %s\n", roundDuration(*c.TimeToEnforce))
	case c.Judged():
		b.WriteString("time to enforce: never matched\n")
	}
	if c.LeakRounds > 0 || c.LeaksAfterConvergence > 0 {
		fmt.Fprintf(&b, "leaks: %d rounds before convergence, %d after\n", c.LeakRounds, c.LeaksAfterConvergence)
	}
	if c.LostAfterConvergence > 0 {
		fmt.Fprintf(&b, "lost after convergence: %d rounds\n", c.LostAfterConvergence)
	}
	if c.Flips > 0 {
		fmt.Fprintf(&b, "flips after convergence: %d\n", c.Flips)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// reasonText is one of the model's reasons on one line: direction, clause,
// policy, then the words.
func reasonText(r model.Reason) string {
	var parts []string
	if r.Direction != "" {
		parts = append(parts, strings.ToLower(string(r.Direction)))
	}
	parts = append(parts, string(r.Clause))
	if r.Policy != "" {
		parts = append(parts, r.Policy)
	}
	return strings.Join(parts, " ") + ": " + r.Text
}

// comparisonView is what the comparison template lays out.
type comparisonView struct {
	Title        string
	A, B         []metaItem
	AID, BID     string
	Cases, Cells int
	Diffs        []diffView
	OnlyA, OnlyB []string
	Legend       string
}

type diffView struct {
	Case, Step, Key string
	A, B            cellView
}

// WriteComparisonHTML writes a comparison of two runs as one self-contained
// HTML page: the disagreeing cells side by side, in the report's colours and
// glyphs.
func WriteComparisonHTML(w io.Writer, c Comparison) error {
	v := comparisonView{
		Title: fmt.Sprintf("netpolcheck comparison %s vs %s", c.A.ID, c.B.ID),
		A:     compareMeta(c.A), B: compareMeta(c.B),
		AID: c.A.ID, BID: c.B.ID,
		Cases: c.Cases, Cells: c.CellsCompared,
		OnlyA: c.OnlyA, OnlyB: c.OnlyB,
		Legend: result.Legend,
	}
	for _, d := range c.Cells {
		a, b := diffCell(d.A), diffCell(d.B)
		key := a.Key
		if key == "" {
			key = b.Key
		}
		v.Diffs = append(v.Diffs, diffView{Case: d.Case, Step: d.Step, Key: key, A: a, B: b})
	}
	return htmlTemplates.ExecuteTemplate(w, "compare.html.tmpl", v)
}

// compareMeta is runMeta without the duration: a comparison holds the runs'
// first records only, so the duration would only say "unknown".
func compareMeta(r result.Run) []metaItem {
	var out []metaItem
	for _, m := range runMeta(r, nil) {
		if m.Label != "duration" {
			out = append(out, m)
		}
	}
	return out
}

// diffCell is one side of a disagreement; a side without the cell (the zero
// Cell) shows as a blank, like a port not served.
func diffCell(c result.Cell) cellView {
	if c.From == (model.PodRef{}) && c.To == (model.PodRef{}) {
		return cellView{}
	}
	return newCellView(&c)
}
