package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// junitFixtures are the sets every JUnit test renders: the fixed run, the
// run killed halfway, a run whose preflight failed, and a run whose texts
// hold what XML cannot carry as is.
func junitFixtures() []struct {
	name string
	set  *result.Set
} {
	return []struct {
		name string
		set  *result.Set
	}{
		{"complete", fixtureSet()},
		{"incomplete", incompleteFixtureSet()},
		{"preflight failed", preflightFailedSet()},
		{"hostile text", hostileTextSet()},
	}
}

// preflightFailedSet is a run that stopped at its preflight: the baseline
// could not be probed, no case ran, the run ended with an error.
func preflightFailedSet() *result.Set {
	s := fixtureSet()
	errored := s.Cases[2] // its step's probes could not run: the preflight's fate too
	s.Preflight = &result.Preflight{Passed: false, Duration: errored.Duration,
		Error: result.Errorf(result.ErrorProbe, "baseline: probes could not run"),
		Case:  result.Case{Name: "preflight", Profile: result.ProfileCore, Error: errored.Error, Duration: errored.Duration, Steps: errored.Steps}}
	s.Cases = nil
	s.End = &result.End{End: fixtureStart.Add(3 * time.Second), Error: result.Errorf(result.ErrorCluster, "the preflight did not pass")}
	return s
}

// hostileTextSet carries markup, a CDATA terminator, control characters and
// invalid UTF-8 in the texts that reach the XML.
func hostileTextSet() *result.Set {
	s := fixtureSet()
	hostile := "a \"quoted\" <tag> & ]]> end\x00\x1b\xff\n second line"
	s.Run.Enforcer.Name = hostile
	s.Cases[1].Failure = hostile
	s.Cases[1].Steps[1].Cells[0].Detail = hostile
	s.Cases[1].Steps[1].Name = hostile
	return s
}

func renderJUnit(t *testing.T, set *result.Set) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, set); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestJUnitGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		set  *result.Set
	}{
		{"junit.golden.xml", fixtureSet()},
		{"junit-incomplete.golden.xml", incompleteFixtureSet()},
	} {
		t.Run(tc.file, func(t *testing.T) { golden(t, tc.file, renderJUnit(t, tc.set)) })
	}
}

// xmllint validates against testdata/junit.xsd; it returns xmllint's
// output and whether the document validated.
func xmllint(t *testing.T, doc []byte) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found: install libxml2-utils (make setup does)")
	}
	schema, err := filepath.Abs(filepath.Join("testdata", "junit.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--schema", schema, path).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("xmllint: %v", err)
	}
	return string(out), err == nil
}

// Every rendering loads in the consumers CI users rely on: it validates
// against the schema that encodes what they accept.
func TestJUnitValidatesAgainstSchema(t *testing.T) {
	for _, fx := range junitFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			doc := renderJUnit(t, fx.set)
			if out, ok := xmllint(t, doc); !ok {
				t.Errorf("the JUnit XML does not validate:\n%s\n%s", out, doc)
			}
		})
	}
}

// The schema bites: the fixed run's output, broken in one place each, is
// rejected, and xmllint names what broke. Without this, a schema that
// accepts anything would pass the test above.
func TestJUnitSchemaRejectsBrokenDocuments(t *testing.T) {
	valid := string(renderJUnit(t, fixtureSet()))
	for _, tc := range []struct {
		name     string
		old, new string
		// complaint is in xmllint's message for the broken document.
		complaint string
	}{
		{"testcase without a name", `<testcase name="ingress deny-all in x"`, `<testcase`, "name"},
		{"testcase with an empty name", `<testcase name="ingress deny-all in x"`, `<testcase name=""`, "name"},
		{"time not a number", `time="1.200"`, `time="abc"`, "time"},
		{"time with a unit", `time="1.200"`, `time="1.2s"`, "time"},
		{"negative time", `time="1.200"`, `time="-1.200"`, "time"},
		{"negative count", `failures="1"`, `failures="-1"`, "failures"},
		{"count not an integer", `tests="4"`, `tests="four"`, "tests"},
		{"two outcomes in one testcase", `<failure `, `<error message="x"></error><failure `, "failure"},
		{"output before the outcome", `<failure `, `<system-out>early</system-out><failure `, "failure"},
		{"unknown element", `<properties>`, `<props></props><properties>`, "props"},
		{"timestamp not a date", `timestamp="2026-11-29T12:00:00Z"`, `timestamp="yesterday"`, "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(valid, tc.old) {
				t.Fatalf("the fixed run's JUnit XML has no %q to break", tc.old)
			}
			broken := strings.Replace(valid, tc.old, tc.new, 1)
			out, ok := xmllint(t, []byte(broken))
			if ok {
				t.Fatalf("the schema accepts a document with %s:\n%s", tc.name, broken)
			}
			if !strings.Contains(out, tc.complaint) || !strings.Contains(out, "fails to validate") {
				t.Errorf("xmllint rejects it, but not for %q:\n%s", tc.complaint, out)
			}
		})
	}
}

// The JUnit XML read back with a reader of its own, so a shared mistake in
// the writer's types cannot hide.
type parsedJUnit struct {
	TestsAttr    int           `xml:"tests,attr"`
	FailuresAttr int           `xml:"failures,attr"`
	ErrorsAttr   int           `xml:"errors,attr"`
	SkippedAttr  int           `xml:"skipped,attr"`
	Suites       []parsedSuite `xml:"testsuite"`
}

type parsedCounts struct{ tests, failures, errors, skipped int }

type parsedSuite struct {
	Name       string `xml:"name,attr"`
	Hostname   string `xml:"hostname,attr"`
	Tests      int    `xml:"tests,attr"`
	Failures   int    `xml:"failures,attr"`
	Errors     int    `xml:"errors,attr"`
	Skipped    int    `xml:"skipped,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []parsedCase `xml:"testcase"`
}

type parsedCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Time      string         `xml:"time,attr"`
	Failure   *parsedProblem `xml:"failure"`
	Error     *parsedProblem `xml:"error"`
	Skipped   *parsedProblem `xml:"skipped"`
	SystemOut string         `xml:"system-out"`
}

type parsedProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func parseJUnit(t *testing.T, doc []byte) parsedJUnit {
	t.Helper()
	var p parsedJUnit
	if err := xml.Unmarshal(doc, &p); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v\n%s", err, doc)
	}
	if len(p.Suites) != 1 {
		t.Fatalf("want one testsuite (the run), got %d", len(p.Suites))
	}
	return p
}

// isRunCase says whether a testcase stands for the run itself (preflight,
// run error, incomplete run) rather than for a case.
func isRunCase(c parsedCase) bool { return c.Classname == "netpolcheck.run" }

// The counts CI shows are the set's: the testcases of cases agree with
// set.Totals(), the attributes agree with the testcases, and the run's own
// testcases are errors exactly when the run did not end on its own terms.
func TestJUnitCountsAgreeWithTotals(t *testing.T) {
	for _, fx := range junitFixtures() {
		t.Run(fx.name, func(t *testing.T) {
			p := parseJUnit(t, renderJUnit(t, fx.set))
			suite := p.Suites[0]
			var cases, run parsedCounts
			for _, c := range suite.Cases {
				n := &cases
				if isRunCase(c) {
					n = &run
				}
				n.tests++
				outcomes := 0
				if c.Failure != nil {
					n.failures++
					outcomes++
				}
				if c.Error != nil {
					n.errors++
					outcomes++
				}
				if c.Skipped != nil {
					n.skipped++
					outcomes++
				}
				if outcomes > 1 {
					t.Errorf("testcase %q has %d outcomes", c.Name, outcomes)
				}
			}

			totals := fx.set.Totals()
			if cases != (parsedCounts{tests: totals.Ran, failures: totals.Failed, errors: totals.Errors}) {
				t.Errorf("testcases of cases count %+v, the set's totals %+v", cases, totals)
			}
			if run.tests != run.errors || run.failures+run.skipped != 0 {
				t.Errorf("the run's own testcases must all be errors, got %+v", run)
			}
			preflightFailed := fx.set.Preflight != nil && !fx.set.Preflight.Passed
			if runWentWrong := !fx.set.Complete() || preflightFailed; runWentWrong != (run.tests > 0) {
				t.Errorf("complete %v, preflight failed %v, but %d testcases for the run", fx.set.Complete(), preflightFailed, run.tests)
			}

			want := parsedCounts{tests: cases.tests + run.tests, failures: cases.failures, errors: cases.errors + run.errors}
			for _, got := range []struct {
				element string
				counts  parsedCounts
			}{
				{"testsuites", parsedCounts{p.TestsAttr, p.FailuresAttr, p.ErrorsAttr, p.SkippedAttr}},
				{"testsuite", parsedCounts{suite.Tests, suite.Failures, suite.Errors, suite.Skipped}},
			} {
				if got.counts != want {
					t.Errorf("<%s> says %+v, its testcases %+v", got.element, got.counts, want)
				}
			}
		})
	}
}

// A killed run turns CI red and says how many selected cases never ran.
func TestJUnitIncompleteRunIsAnError(t *testing.T) {
	p := parseJUnit(t, renderJUnit(t, incompleteFixtureSet()))
	var incomplete []parsedCase
	for _, c := range p.Suites[0].Cases {
		if isRunCase(c) {
			incomplete = append(incomplete, c)
		}
	}
	if len(incomplete) != 1 || incomplete[0].Name != "run incomplete" || incomplete[0].Error == nil {
		t.Fatalf("want one testcase \"run incomplete\" with an error, got %+v", incomplete)
	}
	if e := incomplete[0].Error; e.Type != "incomplete" || !strings.Contains(e.Message, "4 of its 6 selected cases did not run") {
		t.Errorf("the error says %q (type %q), want the 4 of 6 cases that did not run", e.Message, e.Type)
	}
	if props := properties(p.Suites[0]); props["run.complete"] != "false" || props["run.outcome"] != "incomplete" {
		t.Errorf("properties say complete=%s outcome=%s", props["run.complete"], props["run.outcome"])
	}
}

// A failed preflight is an error with its grids; the run's failure is one
// more error, with its message.
func TestJUnitPreflightFailureIsAnError(t *testing.T) {
	p := parseJUnit(t, renderJUnit(t, preflightFailedSet()))
	byName := casesByName(p.Suites[0])
	pre, run := byName["preflight"], byName["run"]
	if pre.Error == nil || pre.Failure != nil || pre.Error.Message != "baseline: probes could not run" || pre.Error.Type != "probe" {
		t.Errorf("preflight testcase: %+v", pre)
	} else if !strings.Contains(pre.Error.Text, "comparison") {
		t.Errorf("the preflight's error lacks its grids:\n%s", pre.Error.Text)
	}
	if run.Error == nil || run.Error.Message != "the preflight did not pass" || run.Error.Type != "cluster" {
		t.Errorf("run testcase: %+v", run)
	}
}

// A failure is the enforcer's: its text is the terminal description, with
// the three grids and the reasons of every wrong cell. An infrastructure
// error is an <error>, never a <failure>. Properties say where it ran.
func TestJUnitFailureTextAndProperties(t *testing.T) {
	set := fixtureSet()
	p := parseJUnit(t, renderJUnit(t, set))
	suite := p.Suites[0]
	byName := casesByName(suite)

	failedCase := set.Cases[1]
	failed := byName[failedCase.Name]
	if failed.Failure == nil || failed.Error != nil {
		t.Fatalf("%q must be a <failure>: %+v", failedCase.Name, failed)
	}
	if failed.Failure.Message != failedCase.Failure || strings.Contains(failed.Failure.Message, "\n") {
		t.Errorf("failure message %q, want the case's one line %q", failed.Failure.Message, failedCase.Failure)
	}
	text := failed.Failure.Text
	wants := []string{"x/a -> y/a 81/SCTP", "x/b -> y/a 81/SCTP", "expected", "observed", "comparison"}
	wrong := result.WrongCells(*failedCase.FailedStep())
	if len(wrong) != 2 {
		t.Fatalf("the fixture's failed step has %d wrong cells, want 2", len(wrong))
	}
	for _, c := range wrong {
		for _, r := range c.Reasons {
			wants = append(wants, r.Text)
		}
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("the failure text lacks %q:\n%s", want, text)
		}
	}
	if text != result.Describe(failedCase) {
		t.Errorf("the failure text is not the terminal description:\n%s", text)
	}
	if !strings.Contains(failed.SystemOut, `step 2 "deny egress to y/a on 81/SCTP": failed; 6 rounds; did not converge`) ||
		!strings.Contains(failed.SystemOut, "kind: Namespace") {
		t.Errorf("the failed case's output lacks its steps or its manifests:\n%s", failed.SystemOut)
	}

	erroredCase := set.Cases[2]
	errored := byName[erroredCase.Name]
	if errored.Error == nil || errored.Failure != nil {
		t.Fatalf("%q is an infrastructure error, so an <error> and no <failure>: %+v", erroredCase.Name, errored)
	}
	if errored.Error.Type != string(result.ErrorProbe) || errored.Error.Message != erroredCase.Error.Message {
		t.Errorf("error type %q message %q, want %q and the case's message", errored.Error.Type, errored.Error.Message, result.ErrorProbe)
	}

	for _, c := range []result.Case{set.Cases[0], set.Cases[3]} {
		if got := byName[c.Name]; got.Failure != nil || got.Error != nil || got.Classname != "netpolcheck."+c.Profile {
			t.Errorf("passed case %q: %+v", c.Name, got)
		}
	}

	props := properties(suite)
	for name, want := range map[string]string{
		"provider":         set.Run.Provider,
		"cluster":          set.Run.Cluster,
		"enforcer.kind":    set.Run.Enforcer.Kind,
		"enforcer.name":    set.Run.Enforcer.Name,
		"enforcer.version": set.Run.Enforcer.Version,
		"seed":             "0",
		"run.id":           set.Run.ID,
		"run.complete":     "true",
		"run.outcome":      string(result.OutcomeError),
	} {
		if got, ok := props[name]; !ok || got != want {
			t.Errorf("property %s = %q (present: %v), want %q", name, got, ok, want)
		}
	}
	if suite.Name != set.Run.Suite || suite.Hostname != set.Run.Cluster {
		t.Errorf("testsuite name %q hostname %q, want %q and %q", suite.Name, suite.Hostname, set.Run.Suite, set.Run.Cluster)
	}
}

func casesByName(s parsedSuite) map[string]parsedCase {
	m := make(map[string]parsedCase, len(s.Cases))
	for _, c := range s.Cases {
		m[c.Name] = c
	}
	return m
}

func properties(s parsedSuite) map[string]string {
	m := make(map[string]string, len(s.Properties))
	for _, p := range s.Properties {
		m[p.Name] = p.Value
	}
	return m
}
