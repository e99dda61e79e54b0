package cases

import (
	"fmt"
	"strings"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// handGrid is a parsed hand table for one port and protocol.
type handGrid struct {
	port  model.PortProtocol
	pods  []string // columns; rows use the same pods in the same order
	cells [][]model.Decision
}

// parseGrid reads the grid format described in grid.go.
func parseGrid(text string) (*handGrid, error) {
	var lines [][]string
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, f)
		}
	}
	if len(lines) < 2 {
		return nil, fmt.Errorf("grid has %d lines, want a header and at least one row", len(lines))
	}
	pp, err := model.ParsePortProtocol(lines[0][0])
	if err != nil {
		return nil, fmt.Errorf("grid header: %w", err)
	}
	g := &handGrid{port: pp, pods: lines[0][1:]}
	if len(lines)-1 != len(g.pods) {
		return nil, fmt.Errorf("grid %s has %d columns but %d rows", pp, len(g.pods), len(lines)-1)
	}
	for r, row := range lines[1:] {
		if row[0] != g.pods[r] {
			return nil, fmt.Errorf("grid %s row %d is %s, want %s (rows in column order)", pp, r+1, row[0], g.pods[r])
		}
		if len(row)-1 != len(g.pods) {
			return nil, fmt.Errorf("grid %s row %s has %d cells, want %d", pp, row[0], len(row)-1, len(g.pods))
		}
		var cells []model.Decision
		for c, s := range row[1:] {
			switch s {
			case ".":
				cells = append(cells, model.Allowed)
			case "X":
				cells = append(cells, model.Denied)
			case "?":
				cells = append(cells, model.Undefined)
			default:
				return nil, fmt.Errorf("grid %s cell %s -> %s is %q, want . X or ?", pp, row[0], g.pods[c], s)
			}
		}
		g.cells = append(g.cells, cells)
	}
	return g, nil
}

func decisionGlyph(d model.Decision) string {
	switch d {
	case model.Allowed:
		return "."
	case model.Denied:
		return "X"
	case model.Undefined:
		return "?"
	}
	return "!"
}

// renderGrids prints hand, model and comparison grids side by side, the way
// upstream prints expected, observed and comparison: "!" marks a wrong cell.
func renderGrids(pods []string, hand, got [][]model.Decision) string {
	var b strings.Builder
	header := func() {
		fmt.Fprintf(&b, "%-5s", "")
		for _, p := range pods {
			fmt.Fprintf(&b, "%4s", p)
		}
	}
	b.WriteString("hand table, model, comparison (rows from, columns to; ! marks a wrong cell)\n")
	header()
	b.WriteString("   ")
	header()
	b.WriteString("\n")
	for r, from := range pods {
		row := func(cells []model.Decision) {
			fmt.Fprintf(&b, "%-5s", from)
			for _, d := range cells {
				fmt.Fprintf(&b, "%4s", decisionGlyph(d))
			}
		}
		row(hand[r])
		b.WriteString("   ")
		row(got[r])
		b.WriteString("   ")
		for c := range pods {
			if hand[r][c] == got[r][c] {
				b.WriteString(" .")
			} else {
				b.WriteString(" !")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
