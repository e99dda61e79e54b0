package reports

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netpolcheck/netpolcheck/reports/result"
)

// JUnit XML is what CI systems turn into red and green: Jenkins' JUnit
// plugin, GitLab's test reports, GitHub actions that annotate a pull
// request, Azure's test publisher. None of them knows cells or grids, so the
// mapping keeps to what all of them read:
//
//	<testsuites>            the run's totals
//	  <testsuite>           the run (one suite: what drove it)
//	    <properties>        provider, cluster, enforcer, versions, seed, outcome
//	    <testcase>          one per case that ran; its steps in <system-out>
//	      <failure>         the enforcer did what the model forbids: the grids
//	                        and the model's reasons for each wrong cell
//	      <error>           an infrastructure failure: nothing was learned
//
// The run itself gets a testcase only when it went wrong, so that CI turns
// red for the same reasons as the exit code (result.Set.Outcome):
//
//   - "preflight", an <error> with its grids, when the preflight did not pass;
//   - "run", an <error>, when the run itself failed (End.Error);
//   - "run incomplete", an <error>, when the run did not end on its own
//     terms (killed, interrupted, or selected cases never ran). The cases
//     that did not run are not listed one by one as <skipped>: a set knows
//     only how many there were, not their names, and consumers count a
//     skipped test as green, while a run that stopped halfway has proved
//     nothing about the rest. So the suite's skipped count stays 0 and the
//     one error says how many did not run.
//
// Counts on <testsuites> and <testsuite> are computed from the testcases
// written, so they always agree with them. Times are seconds with three
// decimals and no thousands separator, the one form every consumer parses.

// Classnames group testcases in consumers that show a package tree (Jenkins
// splits at the last dot): cases by profile, the run's own testcases apart.
const (
	junitClassPrefix = "netpolcheck."
	junitRunClass    = junitClassPrefix + "run"
	// junitFailureType marks a failure as the enforcer's, for consumers
	// that show the type next to the message.
	junitFailureType = "NetworkPolicy"
	// junitIncompleteType is the error type of a run that stopped early.
	junitIncompleteType = "incomplete"
)

// Names of the run's own testcases.
const (
	junitPreflightCase  = "preflight"
	junitRunCase        = "run"
	junitIncompleteCase = "run incomplete"
)

type junitSuites struct {
	XMLName   xml.Name     `xml:"testsuites"`
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Timestamp string       `xml:"timestamp,attr,omitempty"`
	Suites    []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// junitCase holds at most one of Skipped, Error and Failure: the consumers
// read one outcome per testcase.
type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitProblem `xml:"skipped"`
	Error     *junitProblem `xml:"error"`
	Failure   *junitProblem `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitProblem is a failure, an error or a skip: a one-line message, a type,
// and the whole story as text.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// junitText is CDATA so the grids keep their lines and columns for anyone
// reading the file itself, not only through a consumer.
type junitText struct {
	Text string `xml:",cdata"`
}

// WriteJUnit writes set as JUnit XML: one suite for the run, one testcase per
// case that ran, and testcases for the run itself when it went wrong.
func WriteJUnit(w io.Writer, set *result.Set) error {
	var cases []junitCase
	if p := set.Preflight; p != nil && !p.Passed {
		cases = append(cases, junitPreflight(p))
	}
	for _, c := range set.Cases {
		cases = append(cases, junitCaseOf(c))
	}
	if rc := junitRunProblem(set); rc != nil {
		cases = append(cases, *rc)
	}

	suite := junitSuite{
		Name:       cmp.Or(set.Run.Suite, "netpolcheck"),
		Time:       junitSeconds(runDuration(set)),
		Timestamp:  junitTimestamp(set.Run.Start),
		Hostname:   set.Run.Cluster,
		Properties: junitProperties(set),
		Cases:      cases,
	}
	for _, c := range cases {
		suite.Tests++
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Error != nil:
			suite.Errors++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	doc := junitSuites{
		Name:  cmp.Or(set.Run.ID, suite.Name),
		Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors, Skipped: suite.Skipped,
		Time: suite.Time, Timestamp: suite.Timestamp,
		Suites: []junitSuite{suite},
	}

	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	out = append(out, '\n')
	_, err = w.Write(out)
	return err
}

// junitCaseOf is one case: its verdict as failure or error, with the terminal
// description (grids, wrong cells, reasons) as text, and its steps as output.
func junitCaseOf(c result.Case) junitCase {
	jc := junitCase{
		Name:      c.Name,
		Classname: junitClassPrefix + cmp.Or(c.Profile, "unknown"),
		Time:      junitSeconds(c.Duration),
		SystemOut: &junitText{xmlSafe(junitSteps(c))},
	}
	switch c.Verdict() {
	case result.Failed:
		jc.Failure = &junitProblem{Message: oneLine(cmp.Or(c.Failure, "the enforcer failed the case")),
			Type: junitFailureType, Text: xmlSafe(result.Describe(c))}
	case result.Errored:
		jc.Error = &junitProblem{Message: oneLine(c.Error.Message), Type: string(c.Error.Kind),
			Text: xmlSafe(result.Describe(c))}
	}
	return jc
}

// junitPreflight is a preflight that did not pass: an error, since a cluster
// that cannot judge says nothing about the enforcer.
func junitPreflight(p *result.Preflight) junitCase {
	message, kind := "the preflight did not pass", "preflight"
	if p.Error != nil {
		message, kind = p.Error.Message, string(p.Error.Kind)
	}
	pc := p.Case
	if pc.Name == "" {
		pc.Name = junitPreflightCase
	}
	return junitCase{
		Name:      junitPreflightCase,
		Classname: junitRunClass,
		Time:      junitSeconds(p.Duration),
		Error:     &junitProblem{Message: oneLine(message), Type: kind, Text: xmlSafe(result.Describe(pc))},
		SystemOut: &junitText{xmlSafe(junitSteps(pc))},
	}
}

// junitRunProblem is the testcase of a run that failed or stopped early, nil
// for a run that ended on its own terms having run every selected case.
func junitRunProblem(set *result.Set) *junitCase {
	if set.Complete() {
		return nil
	}
	t := set.Totals()
	var notRun string
	switch {
	case t.NotRun() > 0:
		notRun = fmt.Sprintf("%d of its %d selected cases did not run", t.NotRun(), t.Selected)
	default:
		notRun = fmt.Sprintf("all %d selected cases ran", t.Selected)
	}
	if set.End != nil && set.End.Error != nil {
		e := set.End.Error
		return &junitCase{Name: junitRunCase, Classname: junitRunClass, Time: junitSeconds(0),
			Error: &junitProblem{Message: oneLine(e.Message), Type: string(e.Kind),
				Text: xmlSafe(fmt.Sprintf("the run failed: %s\n%s.\n", e.Error(), notRun))}}
	}
	var why string
	switch {
	case set.End == nil:
		why = "the run stopped before its end record (killed, or still running)"
	case set.End.Interrupted != "":
		why = "the run was interrupted while " + set.End.Interrupted
	default:
		why = "the run ended early"
	}
	message := why + ": " + notRun
	return &junitCase{Name: junitIncompleteCase, Classname: junitRunClass, Time: junitSeconds(0),
		Error: &junitProblem{Message: oneLine(message), Type: junitIncompleteType,
			Text: xmlSafe(message + ". Its report covers only the cases that ran.\n")}}
}

// junitSteps is the case's output: what it covers, then one line per step
// with its verdict, rounds and time to converge, then the manifests that
// rebuild a failed step.
func junitSteps(c result.Case) string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s", cmp.Or(c.Profile, "unknown"))
	if len(c.Features) > 0 {
		fmt.Fprintf(&b, "; features: %s", strings.Join(c.Features, ", "))
	}
	if len(c.Clauses) > 0 {
		clauses := make([]string, len(c.Clauses))
		for i, cl := range c.Clauses {
			clauses[i] = string(cl)
		}
		fmt.Fprintf(&b, "; clauses: %s", strings.Join(clauses, ", "))
	}
	b.WriteString("\n")
	for i, s := range c.Steps {
		rounds := "rounds"
		if s.Rounds == 1 {
			rounds = "round"
		}
		fmt.Fprintf(&b, "step %d %q: %s; %d %s; ", i+1, s.Name, s.Verdict(), s.Rounds, rounds)
		if s.Converged {
			fmt.Fprintf(&b, "converged in %s", s.TimeToConverge.Round(time.Millisecond))
		} else {
			fmt.Fprintf(&b, "did not converge within %s", s.Deadline)
		}
		sum := s.Summary
		fmt.Fprintf(&b, "; %d of %d judged cells matched", sum.Matched, sum.Judged)
		if sum.Undefined > 0 {
			fmt.Fprintf(&b, ", %d undefined", sum.Undefined)
		}
		switch {
		case s.Error != nil:
			fmt.Fprintf(&b, "; infrastructure error: %s", s.Error.Error())
		case s.Failure != "":
			fmt.Fprintf(&b, "; %s", s.Failure)
		}
		b.WriteString("\n")
	}
	if r := c.Reproduce; r != nil && r.Manifests != "" {
		fmt.Fprintf(&b, "\nstep %d %q as manifests (kubectl apply -f rebuilds it; probe %s):\n%s",
			r.Step, r.StepName, strings.Join(r.Probes, ", "), r.Manifests)
		if !strings.HasSuffix(r.Manifests, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// junitProperties say where the run ran and what it judged, so a red build
// can be told apart from another enforcer's or another cluster's. Every
// property is always written, empty when unknown, so scripts find the same
// names in every report.
func junitProperties(set *result.Set) []junitProperty {
	r := set.Run
	return []junitProperty{
		{"provider", r.Provider},
		{"cluster", r.Cluster},
		{"kubernetes", r.Kubernetes},
		{"enforcer.kind", r.Enforcer.Kind},
		{"enforcer.name", r.Enforcer.Name},
		{"enforcer.version", r.Enforcer.Version},
		{"enforcer.url", r.Enforcer.URL},
		{"netpolcheck.version", r.Netpolcheck},
		{"netpolcheck.commit", r.Commit},
		// Zero when no generated case ran: there was nothing to seed.
		{"seed", strconv.FormatInt(r.Seed, 10)},
		{"run.id", r.ID},
		{"run.selected", strconv.Itoa(r.Selected)},
		{"run.complete", strconv.FormatBool(set.Complete())},
		{"run.outcome", string(set.Outcome())},
	}
}

// runDuration is the run's wall time when it ended; a run that did not end
// has only the time its preflight and cases took.
func runDuration(set *result.Set) time.Duration {
	if set.End != nil && !set.End.End.IsZero() && !set.Run.Start.IsZero() && set.End.End.After(set.Run.Start) {
		return set.End.End.Sub(set.Run.Start)
	}
	var d time.Duration
	if set.Preflight != nil {
		d += set.Preflight.Duration
	}
	for _, c := range set.Cases {
		d += c.Duration
	}
	return d
}

// junitSeconds is d in seconds with three decimals; never negative, which
// no consumer reads.
func junitSeconds(d time.Duration) string {
	return strconv.FormatFloat(max(d, 0).Seconds(), 'f', 3, 64)
}

// junitTimestamp is ISO 8601 in UTC, with its zone; "" (left out) when
// unknown.
func junitTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine folds a message into one line: consumers show the message
// attribute in lists and tooltips.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// xmlSafe replaces what XML 1.0 cannot carry (control characters, invalid
// UTF-8) with U+FFFD. Attributes are escaped by encoding/xml, but CDATA is
// written as is, and a probe's message may hold anything.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == utf8.RuneError, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return utf8.RuneError
		}
		return r
	}, s)
}
