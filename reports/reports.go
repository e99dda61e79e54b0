package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// Names of the files in a report directory.
const (
	JUnitName       = "junit.xml"
	HTMLName        = "report.html"
	MarkdownName    = "summary.md"
	ConformanceName = "conformance.yaml"
)

// Renderer writes one format of a set.
type Renderer func(w io.Writer, set *result.Set) error

// Formats are the renderings WriteAll writes, by file name.
var Formats = []struct {
	Name   string
	Render Renderer
}{
	{JUnitName, WriteJUnit},
	{HTMLName, WriteHTML},
	{MarkdownName, WriteMarkdown},
	{ConformanceName, WriteConformance},
}

// WriteAll renders every format of set into dir (created if missing) and
// returns the paths written. Each file is written whole or not at all.
func WriteAll(dir string, set *result.Set) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range Formats {
		path := filepath.Join(dir, f.Name)
		if err := WriteFile(path, set, f.Render); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// WriteFile renders set into path: into memory first, so a failed
// rendering leaves no half-written file.
func WriteFile(path string, set *result.Set, render Renderer) error {
	var b bytes.Buffer
	if err := render(&b, set); err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
