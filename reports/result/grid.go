package result

import (
	"fmt"
	"io"
	"strings"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// A grid is one port and protocol of a step: rows are sources, columns
// destinations, one glyph per cell. Its text form is the only one netpolcheck
// writes and reads:
//
//	80/TCP x/a x/b
//	x/a     .   X
//	x/b     .   .
//
// The first line names the port/protocol and the destination pods; each
// further line names a source pod and gives one glyph per column. Several
// views of the same cells sit side by side under a title line, separated by
// "|", with the pod names of the rows written once.

// View is what a grid's glyphs show.
type View int

const (
	// Expected: the model's decision.
	Expected View = iota
	// Observed: the probe's outcome in the last round.
	Observed
	// Comparison: whether the observation fits the decision.
	Comparison
)

// Title is the view's name over its grid.
func (v View) Title() string {
	return [...]string{"expected", "observed", "comparison"}[v]
}

// Legend explains the glyphs of every view. A blank cell is a port the
// destination does not serve.
const Legend = `expected: . allowed  X denied  ? undefined (not judged)
observed: . connected  X rejected  D timeout (dropped)  R refused  W wrong peer  E error
compare:  . match  X wrong  U unproven (path or server down)  ? not judged  L leaked after convergence  (blank: port not served)`

// Glyph is the cell's glyph in view v.
func (c *Cell) Glyph(v View) string {
	if c == nil {
		return " "
	}
	switch v {
	case Expected:
		return model.Mark(c.Expected)
	case Observed:
		return outcomeGlyph[c.Observed]
	}
	switch {
	case c.LeaksAfterConvergence > 0:
		return "L"
	case !c.Judged():
		return "?"
	case c.Match:
		return "."
	case c.Unproven:
		return "U"
	}
	return "X"
}

var outcomeGlyph = map[agent.Outcome]string{
	agent.Connected: ".", agent.Rejected: "X", agent.Timeout: "D", agent.Refused: "R",
	agent.WrongPeer: "W", agent.Error: "E", "": "E",
}

// Grid is the cells of one port and protocol, by source and destination.
type Grid struct {
	Port model.PortProtocol
	Pods []model.PodRef
	// cells[from][to] is nil where the destination does not serve the port.
	cells [][]*Cell
}

// NewGrid returns an empty grid of pods on port.
func NewGrid(port model.PortProtocol, pods []model.PodRef) Grid {
	g := Grid{Port: port, Pods: pods, cells: make([][]*Cell, len(pods))}
	for i := range g.cells {
		g.cells[i] = make([]*Cell, len(pods))
	}
	return g
}

// Cell returns the cell from row from to column to, nil if none.
func (g Grid) Cell(from, to int) *Cell { return g.cells[from][to] }

// Set puts c at its pods' row and column; pods the grid lacks are an error.
func (g Grid) Set(c Cell) error {
	from, to := g.index(c.From), g.index(c.To)
	if from < 0 || to < 0 {
		return fmt.Errorf("cell %s: pod not in the grid's %v", c.Key(), g.Pods)
	}
	g.cells[from][to] = &c
	return nil
}

func (g Grid) index(ref model.PodRef) int {
	for i, p := range g.Pods {
		if p == ref {
			return i
		}
	}
	return -1
}

// Grids returns one grid per port and protocol of the step.
func Grids(s Step) []Grid {
	grids := make([]Grid, len(s.Ports))
	byPort := make(map[model.PortProtocol]int, len(s.Ports))
	for i, pp := range s.Ports {
		grids[i] = NewGrid(pp, s.Pods)
		byPort[pp] = i
	}
	for _, c := range s.Cells {
		if i, ok := byPort[c.PortProtocol]; ok {
			_ = grids[i].Set(c) // a cell of a pod the step does not list stays out
		}
	}
	return grids
}

// ExpectedGrid is the model's table for one port and protocol as a grid,
// with the model's reasons in every cell.
func ExpectedGrid(t *model.Table, pp model.PortProtocol) (Grid, error) {
	g := NewGrid(pp, t.Pods())
	for _, from := range g.Pods {
		for _, to := range g.Pods {
			v, err := t.Explain(from, to, pp)
			if err != nil {
				return Grid{}, err
			}
			if err := g.Set(Cell{From: from, To: to, PortProtocol: pp, Expected: v.Allowed, Reasons: v.Reasons}); err != nil {
				return Grid{}, err
			}
		}
	}
	return g, nil
}

// Block is one grid in one view under a title, for WriteGrids.
type Block struct {
	Title string
	Grid  Grid
	View  View
}

// Blocks is the usual side-by-side: expected, observed and comparison of g.
func Blocks(g Grid) []Block {
	return []Block{{Expected.Title(), g, Expected}, {Observed.Title(), g, Observed}, {Comparison.Title(), g, Comparison}}
}

// WriteGrids writes grids of the same pods side by side: rows are the first
// block's pods. One block has no title line, and is the hand-table form.
func WriteGrids(w io.Writer, blocks ...Block) error {
	if len(blocks) == 0 {
		return nil
	}
	first := blocks[0].Grid
	names := make([]string, len(first.Pods))
	col := 1
	for i, p := range first.Pods {
		names[i] = p.String()
		col = max(col, len(names[i]))
	}
	label := max(col, len(first.Port.String()))
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(n-len(s), 0)) }
	center := func(s string) string { return pad(strings.Repeat(" ", (col-len(s))/2)+s, col) }
	block := (col + 1) * len(names)
	for _, b := range blocks {
		block = max(block, len(b.Title)+1)
	}
	sep := func(i int) string {
		if i == 0 && len(blocks) == 1 {
			return ""
		}
		return "  |"
	}

	var out strings.Builder
	line := func(s string) { out.WriteString(strings.TrimRight(s, " ") + "\n") }
	if len(blocks) > 1 {
		title := pad("", label)
		for i, b := range blocks {
			title += sep(i) + pad(" "+b.Title, block)
		}
		line(title)
	}
	header := pad(first.Port.String(), label)
	for i := range blocks {
		var row strings.Builder
		for _, n := range names {
			row.WriteString(" " + pad(n, col))
		}
		header += sep(i) + pad(row.String(), block)
	}
	line(header)
	for r := range first.Pods {
		row := pad(names[r], label)
		for i, b := range blocks {
			if len(b.Grid.Pods) != len(first.Pods) {
				return fmt.Errorf("grid %q has %d pods, the first %d", b.Title, len(b.Grid.Pods), len(first.Pods))
			}
			var cells strings.Builder
			for c := range first.Pods {
				cells.WriteString(" " + center(b.Grid.Cell(r, c).Glyph(b.View)))
			}
			row += sep(i) + pad(cells.String(), block)
		}
		line(row)
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// Text is the grid in one view, in the hand-table form.
func (g Grid) Text(v View) string {
	var b strings.Builder
	_ = WriteGrids(&b, Block{Grid: g, View: v}) // a single block cannot mismatch
	return b.String()
}

// ParseGrid reads an expected grid in the hand-table form: "." allowed, "X"
// denied, "?" undefined. Leading and trailing blank lines are ignored.
func ParseGrid(text string) (Grid, error) {
	var lines [][]string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		lines = append(lines, strings.Fields(l))
	}
	if len(lines) < 2 || len(lines[0]) < 2 {
		return Grid{}, fmt.Errorf("want a header line (port/protocol, then pods) and one line per pod, got %q", text)
	}
	pp, err := model.ParsePortProtocol(lines[0][0])
	if err != nil {
		return Grid{}, fmt.Errorf("header %q: %w", strings.Join(lines[0], " "), err)
	}
	var pods []model.PodRef
	for _, name := range lines[0][1:] {
		ref, err := model.ParsePodRef(name)
		if err != nil {
			return Grid{}, fmt.Errorf("header: %w", err)
		}
		pods = append(pods, ref)
	}
	g := NewGrid(pp, pods)
	if len(lines)-1 != len(pods) {
		return Grid{}, fmt.Errorf("%d columns but %d rows", len(pods), len(lines)-1)
	}
	for r, fields := range lines[1:] {
		if len(fields) != len(pods)+1 {
			return Grid{}, fmt.Errorf("row %d (%s): want the pod and %d cells, got %d fields", r+1, strings.Join(fields, " "), len(pods), len(fields))
		}
		if fields[0] != pods[r].String() {
			return Grid{}, fmt.Errorf("row %d is %s, want %s (rows in the columns' order)", r+1, fields[0], pods[r])
		}
		for c, mark := range fields[1:] {
			d, ok := markDecision[mark]
			if !ok {
				return Grid{}, fmt.Errorf("row %s column %s: %q is not ., X or ?", pods[r], pods[c], mark)
			}
			_ = g.Set(Cell{From: pods[r], To: pods[c], PortProtocol: pp, Expected: d})
		}
	}
	return g, nil
}

var markDecision = map[string]model.Decision{".": model.Allowed, "X": model.Denied, "?": model.Undefined}
