package reports

import (
	"bytes"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The conformance report of the fixture run, complete and killed, matches
// its golden file.
func TestConformanceGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		set  *result.Set
	}{
		{"conformance.golden.yaml", fixtureSet()},
		{"conformance-incomplete.golden.yaml", incompleteFixtureSet()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteConformance(&b, tc.set); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// The YAML reads back, and its profiles account for every case that ran:
// their passed, failed and errors add up to the set's totals.
func TestConformanceParsesBackAndAddsUp(t *testing.T) {
	for name, set := range map[string]*result.Set{"complete": fixtureSet(), "incomplete": incompleteFixtureSet()} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteConformance(&b, set); err != nil {
				t.Fatal(err)
			}
			var back ConformanceReport
			if err := yaml.UnmarshalStrict(b.Bytes(), &back); err != nil {
				t.Fatalf("the report does not read back: %v\n%s", err, b.String())
			}
			if back.APIVersion != "netpolcheck.io/v1alpha1" || back.Kind != "ConformanceReport" {
				t.Errorf("apiVersion %q kind %q", back.APIVersion, back.Kind)
			}
			if back.Complete != set.Complete() {
				t.Errorf("complete: %v, the set says %v", back.Complete, set.Complete())
			}
			var names []string
			var passed, failed, errors int
			for _, p := range back.Profiles {
				names = append(names, p.Name)
				passed, failed, errors = passed+p.Passed, failed+p.Failed, errors+p.Errors
				if len(p.FailedCases) != p.Failed || len(p.ErroredCases) != p.Errors {
					t.Errorf("profile %s: %d failed, %d errors, but lists %v and %v", p.Name, p.Failed, p.Errors, p.FailedCases, p.ErroredCases)
				}
				if p.Skipped < 0 {
					t.Errorf("profile %s: skipped %d", p.Name, p.Skipped)
				}
			}
			if !reflect.DeepEqual(names, result.Profiles()) {
				t.Errorf("profiles %v, want %v in that order", names, result.Profiles())
			}
			totals := set.Totals()
			if passed != totals.Passed || failed != totals.Failed || errors != totals.Errors || passed+failed+errors != totals.Ran {
				t.Errorf("profiles add up to %d passed, %d failed, %d errors; the set ran %d: %d passed, %d failed, %d errors",
					passed, failed, errors, totals.Ran, totals.Passed, totals.Failed, totals.Errors)
			}
		})
	}
}

// Each branch of the per-profile rule, on the profile it is about.
func TestConformanceProfileResults(t *testing.T) {
	errorOnly := fixtureSet()
	errorOnly.Cases = []result.Case{errorOnly.Cases[0], errorOnly.Cases[2]} // passed and errored core cases
	errorOnly.Run.Selected = 2
	stranger := fixtureSet()
	stranger.Cases[0].Profile = "experimental"
	noLibrary := incompleteFixtureSet()
	noLibrary.Run.Library = nil
	noLibrary.Cases = noLibrary.Cases[:1]

	for _, tc := range []struct {
		name    string
		set     *result.Set
		profile string
		want    string
	}{
		{"a failure wins over an error", fixtureSet(), result.ProfileCore, ConformanceFailed},
		{"a failure stands in an incomplete run", incompleteFixtureSet(), result.ProfileCore, ConformanceFailed},
		{"every library case ran and passed", fixtureSet(), result.ProfileImplementationDefined, ConformancePassed},
		{"not in the library and not run", fixtureSet(), result.ProfileExtended, ConformanceNotRun},
		{"not reached before the run stopped", incompleteFixtureSet(), result.ProfileImplementationDefined, ConformanceIncomplete},
		{"not in the library, run stopped", incompleteFixtureSet(), result.ProfileExtended, ConformanceNotRun},
		{"an error without failures", errorOnly, result.ProfileCore, ConformanceError},
		{"passed cases of an unknown library in a stopped run", noLibrary, result.ProfileCore, ConformanceIncomplete},
		{"a profile outside the known three", stranger, "experimental", ConformancePassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range Conformance(tc.set).Profiles {
				if p.Name == tc.profile {
					if p.Result != tc.want {
						t.Errorf("profile %s: %s, want %s (%+v)", p.Name, p.Result, tc.want, p)
					}
					return
				}
			}
			t.Errorf("no profile %s", tc.profile)
		})
	}
}
