package model

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteJSON writes the table in the format of DESIGN.md:
// {"cells":[{"from":"x/a","to":"y/b","port":80,"protocol":"TCP","ingress":true,
// "egress":true,"allowed":true}, ...]}, where a decision the model cannot
// make is the string "undefined". Cells come in the order of All.
func (t *Table) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"cells":[`)
	first := true
	for c := range t.All() {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteString(`{"from":`)
		bw.WriteString(strconv.Quote(c.From.String()))
		bw.WriteString(`,"to":`)
		bw.WriteString(strconv.Quote(c.To.String()))
		bw.WriteString(`,"port":`)
		bw.WriteString(strconv.Itoa(int(c.Port.Port)))
		bw.WriteString(`,"protocol":`)
		bw.WriteString(strconv.Quote(string(c.Port.Protocol)))
		bw.WriteString(`,"ingress":`)
		bw.WriteString(jsonDecision(c.Ingress))
		bw.WriteString(`,"egress":`)
		bw.WriteString(jsonDecision(c.Egress))
		bw.WriteString(`,"allowed":`)
		bw.WriteString(jsonDecision(c.Allowed))
		bw.WriteByte('}')
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// MarshalJSON renders the table as WriteJSON does.
func (t *Table) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := t.WriteJSON(&buf); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func jsonDecision(d Decision) string {
	switch d {
	case Allowed:
		return "true"
	case Denied:
		return "false"
	default:
		return `"undefined"`
	}
}

// Mark is the grid symbol of a decision: "." allowed, "X" denied, "?" undefined.
func Mark(d Decision) string {
	switch d {
	case Allowed:
		return "."
	case Denied:
		return "X"
	default:
		return "?"
	}
}

// WriteText writes one grid per port: rows are sources, columns destinations.
func (t *Table) WriteText(w io.Writer) error {
	for k := range t.ports {
		if k > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := t.writeGrid(w, k); err != nil {
			return err
		}
	}
	return nil
}

// Grid returns the text grid of one port.
func (t *Table) Grid(pp PortProtocol) (string, error) {
	pp.Protocol = defaultProtocol(pp.Protocol)
	k, ok := t.portIdx[pp]
	if !ok {
		return "", fmt.Errorf("port %s is not in the table", pp)
	}
	var buf bytes.Buffer
	if err := t.writeGrid(&buf, k); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func (t *Table) writeGrid(w io.Writer, k int) error {
	n := len(t.pods)
	tw := tabwriter.NewWriter(w, 1, 1, 1, ' ', 0)
	fmt.Fprintf(tw, "%s\n", t.ports[k])
	io.WriteString(tw, "from\\to")
	for _, p := range t.pods {
		fmt.Fprintf(tw, "\t%s", p)
	}
	io.WriteString(tw, "\n")
	for s := 0; s < n; s++ {
		io.WriteString(tw, t.pods[s].String())
		for d := 0; d < n; d++ {
			code := t.codes[k][s*n+d]
			fmt.Fprintf(tw, "\t%s", Mark(Combine(codeDecision[code&3], codeDecision[code>>2])))
		}
		io.WriteString(tw, "\n")
	}
	return tw.Flush()
}
