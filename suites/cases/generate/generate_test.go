package generate_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/cases/generate"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

func mustCases(t *testing.T, seed int64, count int) []cases.Case {
	t.Helper()
	all, err := generate.Cases(seed, count)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if len(all) != count {
		t.Fatalf("seed %d: %d cases, want %d", seed, len(all), count)
	}
	return all
}

func yamlOf(t *testing.T, all []cases.Case) [][]byte {
	t.Helper()
	var out [][]byte
	for _, c := range all {
		data, err := cases.Marshal(c)
		if err != nil {
			t.Fatalf("case %q: %v", c.Name, err)
		}
		out = append(out, data)
	}
	return out
}

// The same seed gives the same cases, byte for byte in YAML, whatever the
// count: a smaller count is a prefix of a larger one. Another seed gives
// other cases.
func TestSameSeedSameYAMLBytes(t *testing.T) {
	first := yamlOf(t, mustCases(t, 7, 120))
	again := yamlOf(t, mustCases(t, 7, 120))
	prefix := yamlOf(t, mustCases(t, 7, 33))
	other := yamlOf(t, mustCases(t, 8, 120))
	same := 0
	for i := range first {
		if !bytes.Equal(first[i], again[i]) {
			t.Fatalf("case %d differs between two runs of seed 7:\n%s\nthen\n%s", i, first[i], again[i])
		}
		if i < len(prefix) && !bytes.Equal(first[i], prefix[i]) {
			t.Fatalf("case %d of seed 7 depends on the count:\n%s\nthen\n%s", i, first[i], prefix[i])
		}
		// The names carry the seed; compare what follows the first line.
		_, a, _ := bytes.Cut(first[i], []byte("\n"))
		_, b, _ := bytes.Cut(other[i], []byte("\n"))
		if bytes.Equal(a, b) {
			same++
		}
	}
	if same > len(first)/10 {
		t.Errorf("seeds 7 and 8 share %d of %d cases", same, len(first))
	}
}

// Every generated case, over many seeds, is one the model reads (Cases
// fails otherwise), reads back from its YAML as the same case (the reading
// checks every action against the state before it and every policy as the
// API server would), and is written again to the same bytes.
func TestGeneratedCasesReadBackOnManySeeds(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		for _, c := range mustCases(t, seed, 150) {
			data, err := cases.Marshal(c)
			if err != nil {
				t.Fatalf("case %q: marshal: %v", c.Name, err)
			}
			got, err := cases.Unmarshal("case.yaml", data)
			if err != nil {
				t.Fatalf("case %q: %v\n%s", c.Name, err, data)
			}
			if got.Name != c.Name || !slices.Equal(got.Features, c.Features) || !slices.Equal(got.Clauses, c.Clauses) || len(got.Steps) != len(c.Steps) {
				t.Fatalf("case %q read back as %q %v %v with %d steps, want %v %v with %d", c.Name, got.Name, got.Features, got.Clauses, len(got.Steps), c.Features, c.Clauses, len(c.Steps))
			}
			again, err := cases.Marshal(got)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("case %q written again differs (%v):\n%s\nthen\n%s", c.Name, err, data, again)
			}
		}
	}
}

// Names are unique and stable, labels are valid Ginkgo labels that
// runner.Labels keeps as they are (so --label-filter 'peer=ipblock'
// selects them), and every case counts in the extended profile.
func TestNamesLabelsAndProfile(t *testing.T) {
	if generate.Feature != runner.GeneratedFeature {
		t.Fatalf("generate.Feature %q, runner.GeneratedFeature %q", generate.Feature, runner.GeneratedFeature)
	}
	all := mustCases(t, 3, 200)
	names := map[string]bool{}
	for i, c := range all {
		if prefix := fmt.Sprintf("gen-3-%d: ", i); !strings.HasPrefix(c.Name, prefix) {
			t.Errorf("case %d is named %q, want the prefix %q", i, c.Name, prefix)
		}
		if names[c.Name] {
			t.Errorf("two cases are named %q", c.Name)
		}
		names[c.Name] = true
		if c.Features[0] != generate.Feature || !strings.HasPrefix(c.Features[1], generate.DimFamily+"=") {
			t.Errorf("case %q: labels %v, want %q then its family first", c.Name, c.Features, generate.Feature)
		}
		if !slices.Equal(c.Features[len(c.Features)-len(cases.DeriveFeatures(c)):], cases.DeriveFeatures(c)) {
			t.Errorf("case %q: labels %v do not end in the derived ones %v", c.Name, c.Features, cases.DeriveFeatures(c))
		}
		labels := runner.Labels(c)
		for _, f := range c.Features {
			if !slices.Contains(labels, f) {
				t.Errorf("case %q: runner.Labels changed label %q: %v", c.Name, f, labels)
			}
		}
		for _, l := range labels {
			if _, err := types.ValidateAndCleanupLabel(l, types.CodeLocation{}); err != nil {
				t.Errorf("case %q: label %q is not a Ginkgo label: %v", c.Name, l, err)
			}
		}
		if p := runner.Profile(c); p != result.ProfileExtended {
			t.Errorf("case %q is in profile %s, want %s", c.Name, p, result.ProfileExtended)
		}
	}
	selected, err := runner.Select(all, "", "peer=ipblock && family=combinatorial")
	if err != nil || len(selected) == 0 {
		t.Fatalf("label filter peer=ipblock: %d cases, %v", len(selected), err)
	}
	for _, c := range selected {
		if !strings.Contains(c.Name, "peer ipblock,") {
			t.Errorf("label filter peer=ipblock selected %q", c.Name)
		}
	}
}

// The default count of the suite (40) already sees every value of every
// dimension, random cases included.
func TestSmallCountsSpreadOverEveryDimension(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		seen := map[string]bool{}
		for _, c := range mustCases(t, seed, 40) {
			for _, f := range c.Features {
				seen[f] = true
			}
		}
		for dim, values := range generate.Dimensions() {
			for _, v := range values {
				if !seen[dim+"="+v] {
					t.Errorf("seed %d: no case of the first 40 has %s=%s", seed, dim, v)
				}
			}
		}
	}
}

// The clauses come from the model's reasons: together the cases cite
// every clause a generated case can reach (no hostNetwork pods, nodes or
// finished pods: those stay with the curated library), and no other.
func TestClausesComeFromTheModel(t *testing.T) {
	cited := map[model.ClauseID]int{}
	for _, c := range mustCases(t, 5, 200) {
		if len(c.Clauses) == 0 {
			t.Errorf("case %q cites no clause", c.Name)
		}
		for _, id := range c.Clauses {
			cited[id]++
		}
	}
	unreachable := []model.ClauseID{model.ClauseNode, model.ClauseHostNet, model.ClausePhase}
	for _, id := range model.Clauses() {
		switch {
		case slices.Contains(unreachable, id) && cited[id] > 0:
			t.Errorf("%d cases cite %s, which generated cases cannot reach", cited[id], id)
		case !slices.Contains(unreachable, id) && cited[id] == 0:
			t.Errorf("no case cites %s", id)
		}
	}
}
