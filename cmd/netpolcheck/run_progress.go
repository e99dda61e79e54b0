package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress keeps one live status line on stderr when stderr is a terminal:
// case i/n, failures so far, elapsed time and an ETA, cut to the terminal's
// width and redrawn in place. When stderr is not a terminal (a CI log) each
// status becomes a plain line of its own, so a long run still shows where it
// is. Log lines (-v) go through logWriter, which clears the live line first.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	fd    int
	tty   bool
	total int
	start time.Time
	shown bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.fd = true, int(f.Fd())
	}
	return p
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintln(p.w, s)
		return
	}
	width := 80
	if w, _, err := term.GetSize(p.fd); err == nil && w > 0 {
		width = w
	}
	fmt.Fprintf(p.w, "\r\033[K%s", fitWidth(s, width-1))
	p.shown = true
}

// fitWidth cuts s to at most width runes (the last one an ellipsis), so the
// line never wraps and \r can redraw it.
func fitWidth(s string, width int) string {
	r := []rune(s)
	if width < 1 || len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}

// clear removes the live line so normal output can follow.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *progress) clearLocked() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// logWriter writes log lines to the progress line's stream, removing the
// live line first so the two never share a line; the next status redraws
// it.
func (p *progress) logWriter() io.Writer { return progressLog{p} }

type progressLog struct{ p *progress }

func (l progressLog) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.p.clearLocked()
	return l.p.w.Write(b)
}
