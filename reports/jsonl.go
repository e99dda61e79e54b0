package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The JSON Lines of a run are its source of truth. Each line is an object
// with exactly one key saying what it holds:
//
//	{"run":{...}}        first: what ran, where, when (result.Run)
//	{"preflight":{...}}  the proof that the cluster can judge (result.Preflight)
//	{"case":{...}}       one per case, as it finishes (result.Case)
//	{"end":{...}}        last, when the run ended on its own terms (result.End)
//
// Every line is written whole, in one write, as soon as it is known: a run
// killed at any point leaves valid lines, and Read makes an incomplete set
// of them.

// JSONLName is the results file's name in a report directory.
const JSONLName = "results.jsonl"

// line is one JSON line; exactly one field is set.
type line struct {
	Run       *result.Run       `json:"run,omitempty"`
	Preflight *result.Preflight `json:"preflight,omitempty"`
	Case      *result.Case      `json:"case,omitempty"`
	End       *result.End       `json:"end,omitempty"`
}

// Writer writes a run's JSON lines as the run goes. It is safe for
// concurrent use.
type Writer struct {
	mu  sync.Mutex
	out []io.Writer
	// Set is what was written so far, for the reports rendered at the end.
	set result.Set
}

// NewWriter writes every line to each of outs.
func NewWriter(outs ...io.Writer) *Writer {
	return &Writer{out: outs, set: result.Set{Cases: []result.Case{}}}
}

// Run writes the first line.
func (w *Writer) Run(r result.Run) error {
	w.mu.Lock()
	w.set.Run = r
	w.mu.Unlock()
	return w.write(line{Run: &r})
}

// Preflight writes the preflight's outcome. Its steps that passed are the
// whole default matrix (the baseline and the canary's two steps): their
// summaries are kept and their cells dropped, which would otherwise make
// the line bigger than the rest of a run. Failed steps keep their cells, for
// the grids that say what went wrong.
func (w *Writer) Preflight(p result.Preflight) error {
	steps := make([]result.Step, len(p.Case.Steps))
	for i, s := range p.Case.Steps {
		if s.Passed {
			s.Cells = nil
		}
		steps[i] = s
	}
	p.Case.Steps = steps
	w.mu.Lock()
	w.set.Preflight = &p
	w.mu.Unlock()
	return w.write(line{Preflight: &p})
}

// Case writes a finished case.
func (w *Writer) Case(c result.Case) error {
	w.mu.Lock()
	w.set.Cases = append(w.set.Cases, c)
	w.mu.Unlock()
	return w.write(line{Case: &c})
}

// End writes the last line.
func (w *Writer) End(e result.End) error {
	w.mu.Lock()
	w.set.End = &e
	w.mu.Unlock()
	return w.write(line{End: &e})
}

// Set returns what was written so far.
func (w *Writer) Set() *result.Set {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.set
	s.Cases = append([]result.Case(nil), w.set.Cases...)
	return &s
}

func (w *Writer) write(l line) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, out := range w.out {
		if _, err := out.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ReadFile reads a results file; errors name the file and line.
func ReadFile(path string) (*result.Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return set, nil
}

// Read reads JSON lines into a set. A last line cut short (a run killed
// while writing it) is dropped: the set is incomplete anyway. Any other
// line that does not parse is an error that starts with its line number.
func Read(r io.Reader) (*result.Set, error) {
	br := bufio.NewReader(r)
	set := &result.Set{Cases: []result.Case{}}
	sawRun := false
	for n := 1; ; n++ {
		text, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%d: %w", n, err)
		}
		cut := errors.Is(err, io.EOF)
		if len(bytes.TrimSpace(text)) == 0 {
			if cut {
				break
			}
			continue
		}
		var l line
		if uerr := json.Unmarshal(text, &l); uerr != nil {
			if cut {
				break // the kill came mid-line
			}
			return nil, fmt.Errorf("%d: not a result line: %v", n, uerr)
		}
		switch {
		case l.Run != nil:
			if sawRun {
				return nil, fmt.Errorf("%d: a second \"run\" line: one file holds one run", n)
			}
			sawRun = true
			set.Run = *l.Run
		case !sawRun:
			return nil, fmt.Errorf("%d: the first line must be the \"run\" line", n)
		case l.Preflight != nil:
			set.Preflight = l.Preflight
		case l.Case != nil:
			set.Cases = append(set.Cases, *l.Case)
		case l.End != nil:
			set.End = l.End
		default:
			return nil, fmt.Errorf("%d: want one of the keys run, preflight, case or end", n)
		}
		if cut {
			break
		}
	}
	if !sawRun {
		return nil, fmt.Errorf("1: no \"run\" line: not a netpolcheck results file")
	}
	return set, nil
}
