package model

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
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
