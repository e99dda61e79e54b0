package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress keeps one live status line on stderr: case i/n, failures so far,
// elapsed time and an ETA. On a terminal the line is redrawn in place;
// otherwise each case gets its own line.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	start time.Time
	shown bool
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty, total: total, start: time.Now()}
}

func (p *progress) status(format string, args ...any) {
	p.line(fmt.Sprintf(format, args...))
}

func (p *progress) caseStarts(done, failures int, name string) {
	elapsed := time.Since(p.start)
	eta := "?"
	if done > 0 {
		eta = (elapsed / time.Duration(done) * time.Duration(p.total-done)).Round(time.Second).String()
	}
	p.line(fmt.Sprintf("[%d/%d] %d failed, %s elapsed, ETA %s: %s", done+1, p.total, failures, elapsed.Round(time.Second), eta, name))
}

func (p *progress) line(s string) {
	if !p.tty {
		fmt.Fprintln(p.w, s)
		return
	}
	const width = 119
	if len(s) > width {
		s = s[:width]
	}
	fmt.Fprintf(p.w, "\r\033[K%s", s)
	p.shown = true
}

// clear removes the live line so normal output can follow.
func (p *progress) clear() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
