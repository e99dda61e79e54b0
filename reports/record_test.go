package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A report directory holds one run: recording a second one into it is
// refused, and the first run's results stay as they were.
func TestRecordRefusesADirectoryThatHoldsARun(t *testing.T) {
	dir := t.TempDir()
	first, err := Record(dir, fixtureSet().Run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Finish(*fixtureSet().End); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, JSONLName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Record(dir, fixtureSet().Run); err == nil || !strings.Contains(err.Error(), "holds a run already") {
		t.Fatalf("a second run into %s: err %v, want it refused", dir, err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, JSONLName))
	if string(after) != string(before) {
		t.Error("the refused run changed the first run's results")
	}
	set, err := ReadFile(filepath.Join(dir, JSONLName))
	if err != nil || set.End == nil || set.Run.ID != fixtureSet().Run.ID {
		t.Errorf("the first run's results do not read back whole: %v", err)
	}
}

// Read keeps every whole line of a killed run and drops only a last line
// the kill cut short; any other line that does not parse is an error that
// names its line.
func TestReadDropsOnlyALastLineCutShort(t *testing.T) {
	var whole strings.Builder
	w := NewWriter(&whole)
	set := fixtureSet()
	if err := w.Run(set.Run); err != nil {
		t.Fatal(err)
	}
	for _, c := range set.Cases[:2] {
		if err := w.Case(c); err != nil {
			t.Fatal(err)
		}
	}
	lines := whole.String()
	cut := lines + `{"case":{"name":"half`

	got, err := Read(strings.NewReader(cut))
	if err != nil {
		t.Fatalf("a cut last line: %v; want it dropped", err)
	}
	if len(got.Cases) != 2 || got.End != nil || got.Complete() {
		t.Fatalf("a cut last line: %d cases, complete %v; want the 2 whole cases, incomplete", len(got.Cases), got.Complete())
	}
	broken := lines + "not json\n" + `{"end":{"end":"2026-11-29T12:00:15Z"}}` + "\n"
	if _, err := Read(strings.NewReader(broken)); err == nil || !strings.HasPrefix(err.Error(), "4: not a result line") {
		t.Errorf("a bad line in the middle: err %v, want one naming line 4", err)
	}
}
