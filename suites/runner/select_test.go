package runner

import (
	"slices"
	"testing"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

func TestSelectByFocusAndLabels(t *testing.T) {
	library := []cases.Case{
		{Name: "deny ingress", Features: []string{"ingress", "tcp"}, Clauses: []model.ClauseID{"NP-ISO"}},
		{Name: "deny egress", Features: []string{"egress", "tcp"}, Clauses: []model.ClauseID{"NP-ISO"}},
		{Name: "sctp ports", Features: []string{"ingress", "sctp"}, Clauses: []model.ClauseID{"NP-PORT"}},
	}
	for _, tc := range []struct {
		focus, filter string
		want          []string
	}{
		{"", "", []string{"deny ingress", "deny egress", "sctp ports"}},
		{"^deny", "", []string{"deny ingress", "deny egress"}},
		{"", "ingress && !sctp", []string{"deny ingress"}},
		{"", "NP-PORT", []string{"sctp ports"}},
		{"egress", "tcp", []string{"deny egress"}},
	} {
		got, err := Select(library, tc.focus, tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range got {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Select(%q, %q) = %v, want %v", tc.focus, tc.filter, names, tc.want)
		}
	}
	if _, err := Select(library, "(", ""); err == nil {
		t.Error("a bad focus regexp was accepted")
	}
	if _, err := Select(library, "", "ingress &&"); err == nil {
		t.Error("a bad label filter was accepted")
	}
}
