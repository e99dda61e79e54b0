package reports

import (
	"io"
	"slices"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The conformance report is what an implementation publishes about itself:
// per profile, whether it conforms and on how many cases that rests. It is
// a small, stable document for machines and for people comparing
// implementations, so it holds counts and case names, never cells.

// ConformanceAPIVersion and ConformanceKind identify the document.
const (
	ConformanceAPIVersion = "netpolcheck.io/v1alpha1"
	ConformanceKind       = "ConformanceReport"
)

// Results a profile can have in the conformance report.
const (
	ConformancePassed     = "passed"
	ConformanceFailed     = "failed"
	ConformanceError      = "error"
	ConformanceIncomplete = "incomplete"
	ConformanceNotRun     = "not-run"
)

// ConformanceReport is the conformance report document. Its YAML keys come
// in the order declared here (what it is about first), so the yaml tags
// repeat the json ones.
type ConformanceReport struct {
	APIVersion         string                    `json:"apiVersion" yaml:"apiVersion"`
	Kind               string                    `json:"kind" yaml:"kind"`
	Implementation     ConformanceImplementation `json:"implementation" yaml:"implementation"`
	NetpolcheckVersion string                    `json:"netpolcheckVersion" yaml:"netpolcheckVersion"`
	KubernetesVersion  string                    `json:"kubernetesVersion" yaml:"kubernetesVersion"`
	Provider           string                    `json:"provider" yaml:"provider"`
	// Date is when the run started, RFC 3339.
	Date string `json:"date,omitempty" yaml:"date,omitempty"`
	// Complete: the run ended on its own terms, having run every case it
	// selected.
	Complete bool                 `json:"complete" yaml:"complete"`
	Profiles []ConformanceProfile `json:"profiles" yaml:"profiles"`
}

// ConformanceImplementation is the enforcer the report is about.
type ConformanceImplementation struct {
	Name    string `json:"name" yaml:"name"`
	Version string `json:"version" yaml:"version"`
	URL     string `json:"url" yaml:"url"`
	Kind    string `json:"kind" yaml:"kind"`
}

// ConformanceProfile is one profile's result. Passed, Failed and Errors
// count the profile's cases that ran; Skipped the cases of its library that
// did not (not selected, or not reached).
type ConformanceProfile struct {
	Name         string   `json:"name" yaml:"name"`
	Result       string   `json:"result" yaml:"result"`
	Passed       int      `json:"passed" yaml:"passed"`
	Failed       int      `json:"failed" yaml:"failed"`
	Errors       int      `json:"errors" yaml:"errors"`
	Skipped      int      `json:"skipped" yaml:"skipped"`
	FailedCases  []string `json:"failedCases" yaml:"failedCases"`
	ErroredCases []string `json:"erroredCases" yaml:"erroredCases"`
}

// WriteConformance writes set as a conformance report in YAML.
func WriteConformance(w io.Writer, set *result.Set) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(Conformance(set)); err != nil {
		return err
	}
	return enc.Close()
}

// Conformance is set's conformance report. Profiles come in
// result.Profiles() order; a case of any other profile gets one of its own
// after them (in name order), so that the profiles' counts always add up to
// the cases that ran.
func Conformance(set *result.Set) ConformanceReport {
	r := set.Run
	report := ConformanceReport{
		APIVersion: ConformanceAPIVersion,
		Kind:       ConformanceKind,
		Implementation: ConformanceImplementation{
			Name: r.Enforcer.Name, Version: r.Enforcer.Version, URL: r.Enforcer.URL, Kind: r.Enforcer.Kind,
		},
		NetpolcheckVersion: r.Netpolcheck,
		KubernetesVersion:  r.Kubernetes,
		Provider:           r.Provider,
		Complete:           set.Complete(),
	}
	if !r.Start.IsZero() {
		report.Date = r.Start.UTC().Format(time.RFC3339)
	}

	names := result.Profiles()
	var others []string
	for _, c := range set.Cases {
		if !slices.Contains(names, c.Profile) && !slices.Contains(others, c.Profile) {
			others = append(others, c.Profile)
		}
	}
	slices.Sort(others)
	for _, name := range append(names, others...) {
		report.Profiles = append(report.Profiles, profileResult(set, name))
	}
	return report
}

// profileResult counts one profile's cases and gives its result. The rule,
// first match wins:
//
//  1. failed: a case of the profile failed. A failure is evidence against
//     the enforcer that nothing else in the run can undo.
//  2. incomplete: the run did not complete and not every case of the
//     profile's library ran; what did not run might have failed. (With no
//     library count, a profile that ran cases counts as not all run.)
//  3. error: a case hit an infrastructure error, so the profile was not
//     fully judged.
//  4. passed: cases ran and every one passed.
//  5. not-run: no case of the profile ran.
func profileResult(set *result.Set, name string) ConformanceProfile {
	p := ConformanceProfile{Name: name, FailedCases: []string{}, ErroredCases: []string{}}
	ran := 0
	for _, c := range set.Cases {
		if c.Profile != name {
			continue
		}
		ran++
		switch c.Verdict() {
		case result.Passed:
			p.Passed++
		case result.Failed:
			p.Failed++
			p.FailedCases = append(p.FailedCases, c.Name)
		case result.Errored:
			p.Errors++
			p.ErroredCases = append(p.ErroredCases, c.Name)
		}
	}
	library := set.Run.Library[name]
	p.Skipped = max(library-ran, 0)
	allRan := library > 0 && ran >= library
	switch {
	case p.Failed > 0:
		p.Result = ConformanceFailed
	case !set.Complete() && !allRan && (ran > 0 || library > 0):
		p.Result = ConformanceIncomplete
	case p.Errors > 0:
		p.Result = ConformanceError
	case ran > 0:
		p.Result = ConformancePassed
	default:
		p.Result = ConformanceNotRun
	}
	return p
}
