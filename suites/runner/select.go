package runner

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Profile is the conformance profile a case counts in: implementation-
// defined when it checks what the API leaves to the implementation
// (traffic from nodes and hostNetwork pods), extended when it was
// generated, core otherwise.
func Profile(c cases.Case) string {
	for _, id := range c.Clauses {
		if id == model.ClauseNode || id == model.ClauseHostNet {
			return result.ProfileImplementationDefined
		}
	}
	for _, f := range c.Features {
		if f == GeneratedFeature {
			return result.ProfileExtended
		}
	}
	return result.ProfileCore
}

// GeneratedFeature labels cases a generator made.
const GeneratedFeature = "generated"

// LibraryProfiles counts the cases of a library per profile.
func LibraryProfiles(all []cases.Case) map[string]int {
	out := map[string]int{}
	for _, c := range all {
		out[Profile(c)]++
	}
	return out
}

// Labels are a case's Ginkgo labels: its features and its clause IDs, with
// the characters Ginkgo forbids in labels replaced by '-'.
func Labels(c cases.Case) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(strings.Map(func(r rune) rune {
			if strings.ContainsRune("&|!,()/:", r) {
				return '-'
			}
			return r
		}, s))
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, f := range c.Features {
		add(f)
	}
	for _, id := range c.Clauses {
		add(string(id))
	}
	return out
}

// Select keeps the cases whose name matches focus (a regular expression;
// empty matches all) and whose labels satisfy labelFilter (Ginkgo's label
// filter syntax, e.g. "ingress && !sctp"; empty matches all).
func Select(all []cases.Case, focus, labelFilter string) ([]cases.Case, error) {
	var focusRE *regexp.Regexp
	if focus != "" {
		re, err := regexp.Compile(focus)
		if err != nil {
			return nil, fmt.Errorf("focus %q: %w", focus, err)
		}
		focusRE = re
	}
	match := func([]string) bool { return true }
	if labelFilter != "" {
		f, err := types.ParseLabelFilter(labelFilter)
		if err != nil {
			return nil, fmt.Errorf("label filter %q: %w", labelFilter, err)
		}
		match = f
	}
	var out []cases.Case
	for _, c := range all {
		if focusRE != nil && !focusRE.MatchString(c.Name) {
			continue
		}
		if !match(Labels(c)) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}
