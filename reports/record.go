package reports

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// DefaultDir is where a run's reports go unless told otherwise:
// reports/out/<run-id>/ under the working directory.
func DefaultDir(runID string) string { return filepath.Join("reports", "out", runID) }

// NewRunID names a run by its start time and a random suffix, so runs
// started in the same second on one machine do not share a directory.
func NewRunID(start time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return start.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Recorder keeps a run's report directory: the JSON lines as the run goes,
// every other format when it finishes.
type Recorder struct {
	*Writer
	dir  string
	file *os.File
}

// Record creates dir (it may exist, but must not hold a run already),
// opens its results file, and writes run as the first line; every line also
// goes to each of also (e.g. --results -).
func Record(dir string, run result.Run, also ...io.Writer) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	path := filepath.Join(dir, JSONLName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("report directory %s holds a run already (%s): give another", dir, JSONLName)
	}
	if err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	r := &Recorder{Writer: NewWriter(append([]io.Writer{f}, also...)...), dir: dir, file: f}
	if err := r.Run(run); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return r, nil
}

// Dir is the report directory.
func (r *Recorder) Dir() string { return r.dir }

// Finish writes the end line, closes the results file and renders every
// other format from what was written. It returns the paths of all files.
func (r *Recorder) Finish(end result.End) ([]string, error) {
	werr := r.End(end)
	cerr := r.file.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, fmt.Errorf("write %s: %w", r.file.Name(), err)
	}
	paths, err := WriteAll(r.dir, r.Set())
	return append([]string{r.file.Name()}, paths...), err
}
