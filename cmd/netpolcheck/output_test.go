package main

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/netpolcheck/netpolcheck/reports/result"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

const denyIngressInY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: "y"}
spec: {podSelector: {}, policyTypes: [Ingress]}
`

// flowCollection matches a non-empty flow-style map or list as a value.
var flowCollection = regexp.MustCompile(`(?m)(: |^\s*- )[\[{][^\]}]`)

// -o yaml prints what -o json prints, key for key and in the same order.
func TestYAMLOutputIsTheJSONOutput(t *testing.T) {
	dir := writeFiles(t, map[string]string{"deny.yaml": denyIngressInY})
	for _, c := range []struct {
		name string
		args []string
		keys []string // in this order in the YAML
	}{
		{"table", []string{"table", "--port", "80/TCP", "-f", dir}, []string{"from:", "to:", "port:", "protocol:", "ingress:", "egress:", "allowed:"}},
		{"explain", []string{"explain", "--from", "x/a", "--to", "y/b", "--port", "80/TCP", "-f", dir}, []string{"from:", "to:", "port:", "protocol:", "ingress:", "egress:", "allowed:", "reasons:"}},
		{"run --list", []string{"run", "--list", "--label-filter", "sctp && upstream"}, []string{"cases:", "name:", "labels:"}},
	} {
		jsonOut, stderr, code := runNetpolcheck(t, "", append(c.args, "-o", "json")...)
		if code != 0 {
			t.Fatalf("%s -o json: exit %d: %s", c.name, code, stderr)
		}
		yamlOut, stderr, code := runNetpolcheck(t, "", append(c.args, "-o", "yaml")...)
		if code != 0 {
			t.Fatalf("%s -o yaml: exit %d: %s", c.name, code, stderr)
		}
		var fromJSON, fromYAML any
		if err := json.Unmarshal([]byte(jsonOut), &fromJSON); err != nil {
			t.Fatalf("%s: -o json is not JSON: %v", c.name, err)
		}
		converted, err := yaml.YAMLToJSON([]byte(yamlOut))
		if err != nil {
			t.Fatalf("%s: -o yaml is not YAML: %v\n%s", c.name, err, yamlOut)
		}
		if err := json.Unmarshal(converted, &fromYAML); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromJSON, fromYAML) {
			t.Errorf("%s: -o yaml and -o json differ:\n%s\n%s", c.name, yamlOut, jsonOut)
		}
		last := -1
		for _, k := range c.keys {
			i := strings.Index(yamlOut, k)
			if i <= last {
				t.Errorf("%s: key %s out of the JSON's order:\n%s", c.name, k, yamlOut)
			}
			last = i
		}
		if flow := flowCollection.FindString(yamlOut); flow != "" {
			t.Errorf("%s: -o yaml holds a flow collection %q, want block YAML:\n%s", c.name, flow, yamlOut)
		}
	}
}

func TestOutputFlagIsCheckedEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"table", "-o", "xml"},
		{"explain", "-o", "xml", "--from", "x/a", "--to", "y/b", "--port", "80"},
		{"run", "-o", "xml"},
		{"run", "--list", "-o", "xml"},
	} {
		oneLineExit(t, exitBadInput, `--output "xml": want text, json, yaml`, args...)
	}
	for _, args := range [][]string{
		{"table", "--verbosity=-2"},
		{"explain", "-v", "-1", "--from", "x/a", "--to", "y/b", "--port", "80"},
	} {
		oneLineExit(t, exitBadInput, "want 0 (nothing) to 3 (debug)", args...)
	}
}

// -v picks the slog level; 0 writes nothing at all.
func TestVerbositySetsTheLogLevel(t *testing.T) {
	for _, c := range []struct {
		v    int
		want []string
	}{
		{0, nil},
		{1, []string{"level=WARN", "level=ERROR"}},
		{2, []string{"level=INFO", "level=WARN", "level=ERROR"}},
		{3, []string{"level=DEBUG", "level=INFO", "level=WARN", "level=ERROR"}},
		{9, []string{"level=DEBUG", "level=INFO", "level=WARN", "level=ERROR"}},
	} {
		var b bytes.Buffer
		log := newLogger(&b, c.v)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		if got := strings.Count(b.String(), "\n"); got != len(c.want) {
			t.Errorf("-v %d: %d lines, want %d:\n%s", c.v, got, len(c.want), b.String())
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("-v %d: no %s line:\n%s", c.v, w, b.String())
			}
		}
	}
}

func TestSummaryObject(t *testing.T) {
	var s runSummary
	s.add(result.Case{Name: "p", Passed: true})
	s.add(result.Case{Name: "f", Failure: "leak"})
	s.add(result.Case{Name: "i", Error: result.Errorf(result.ErrorProbe, "probe could not run")})
	info := runInfo{selected: 4, took: 1500 * time.Millisecond, provider: "netns", cluster: "npc-abcd", enforcer: "none", interrupted: true}
	var b bytes.Buffer
	if err := writeData(&b, outputJSON, s.object(info)); err != nil {
		t.Fatal(err)
	}
	want := `{"selected":4,"ran":3,"passed":1,"failed":1,"infrastructureErrors":1,"interrupted":true,"duration":"1.5s",` +
		`"provider":"netns","cluster":"npc-abcd","enforcer":"none","failedCases":["f"],"infrastructureErrorCases":["i"],` +
		`"leakRounds":0,"unprovenRounds":0}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if compact.String() != want {
		t.Errorf("summary\n got %s\nwant %s", compact.String(), want)
	}
	var empty runSummary
	b.Reset()
	if err := writeData(&b, outputYAML, empty.object(runInfo{})); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"failedCases: []\n", "infrastructureErrorCases: []\n", "duration: 0s\n"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("empty summary lacks %q:\n%s", w, b.String())
		}
	}
}

// --dump-case builds nothing: it prints the state after each step, or
// after one, as manifests that read back into the case's state.
func TestDumpCase(t *testing.T) {
	name := "upstream tcp: should deny ingress access to updated pod"
	c, err := cases.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	states, err := cases.Replay(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		headers int
	}{
		{[]string{"run", "--dump-case", name}, 2},
		{[]string{"run", "--dump-case", name, "-o", "yaml"}, 2},
		{[]string{"run", "--dump-case", name, "--dump-step", "2"}, 1},
		{[]string{"run", "--dump-case", name, "--dump-step", "1"}, 1},
	} {
		stdout, stderr, code := runNetpolcheck(t, "", tc.args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%q: exit %d, stderr %q", tc.args, code, stderr)
		}
		if got := strings.Count(stdout, "# Case \""+name+"\"\n"); got != tc.headers {
			t.Errorf("%q: %d step headers, want %d", tc.args, got, tc.headers)
		}
		if tc.headers != 1 {
			continue
		}
		step := 1
		if strings.HasSuffix(strings.Join(tc.args, " "), "2") {
			step = 2
		}
		got, err := cases.ParseManifests("dump", []byte(stdout))
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.args, err, stdout)
		}
		want := states[step]
		if len(got.Policies) != len(want.Policies) || len(got.Topology.Pods) != len(want.Topology.Pods) ||
			!reflect.DeepEqual(got.Topology.Pods[0].Labels, want.Topology.Pods[0].Labels) {
			t.Errorf("%q: read back %+v, want %+v", tc.args, got.Topology.Pods, want.Topology.Pods)
		}
	}
}

// A run with -o json or -o yaml prints one summary object on stdout and the
// failed cases' reports on stderr; -v 2 adds the cluster's log lines there,
// the default adds none.
func TestRunSummaryAsDataAndVerbosity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("netpolcheck run builds a netns cluster: run as root")
	}
	name := "upstream tcp: should support a 'default-deny-ingress' policy"
	for _, c := range []struct {
		output string
		args   []string
		logs   bool
	}{
		{"json", []string{"-v", "2"}, true},
		{"yaml", nil, false},
	} {
		args := append([]string{"run", "--focus", name, "--enforcer", "none", "-o", c.output, "--report-dir", t.TempDir()}, c.args...)
		stdout, stderr, code := runNetpolcheck(t, "", args...)
		if code != exitFailed {
			t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, exitFailed, stdout, stderr)
		}
		data := []byte(stdout)
		if c.output == "yaml" {
			var err error
			if data, err = yaml.YAMLToJSON(data); err != nil {
				t.Fatalf("%q: stdout is not YAML: %v\n%s", args, err, stdout)
			}
		}
		var sum summaryObject
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sum); err != nil || dec.More() {
			t.Fatalf("%q: stdout is not one summary object (%v):\n%s", args, err, stdout)
		}
		if _, err := time.ParseDuration(sum.Duration); err != nil {
			t.Errorf("%q: duration %q: %v", args, sum.Duration, err)
		}
		if sum.Selected != 1 || sum.Ran != 1 || sum.Failed != 1 || sum.Passed != 0 || sum.Provider != "netns" ||
			sum.Enforcer != "none" || !reflect.DeepEqual(sum.FailedCases, []string{name}) || len(sum.InfrastructureErrorCases) != 0 ||
			strings.HasSuffix(sum.Cluster, "-") || sum.Cluster == "" {
			t.Errorf("%q: summary %+v", args, sum)
		}
		for _, want := range []string{"FAIL " + name, "kind: NetworkPolicy\n", "netpolcheck: 1 case of 1 failed"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%q: stderr lacks %q:\n%s", args, want, stderr)
			}
		}
		if logs := strings.Contains(stderr, "level=INFO") && strings.Contains(stderr, `msg="netns cluster created"`); logs != c.logs {
			t.Errorf("%q: log lines on stderr: %v, want %v:\n%s", args, logs, c.logs, stderr)
		}
		if !c.logs && strings.Contains(stderr, "level=") {
			t.Errorf("%q: logs without -v:\n%s", args, stderr)
		}
	}
}
