package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reference/model/manifest"
	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// repoRoot is the repository's top directory, seen from this package.
const repoRoot = "../.."

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCasesDocIsCurrent(t *testing.T) {
	var b strings.Builder
	if err := writeCasesDoc(&b, cases.All()); err != nil {
		t.Fatal(err)
	}
	if got := readRepoFile(t, "docs/cases.md"); got != b.String() {
		t.Errorf("docs/cases.md is stale: run go generate ./cmd/netpolcheck")
	}
	// The command prints the same.
	stdout, stderr, code := runNetpolcheck(t, "", "docs")
	if code != 0 || stdout != b.String() {
		t.Errorf("netpolcheck docs: exit %d, stderr %q, output differs from writeCasesDoc", code, stderr)
	}
}

func TestDocsCommandWritesTheFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cases.md")
	if _, stderr, code := runNetpolcheck(t, "", "docs", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil || string(data) != readRepoFile(t, "docs/cases.md") {
		t.Errorf("--out wrote something else than docs/cases.md (%v)", err)
	}
	oneLineExit(t, exitBadInput, "--out "+filepath.Join(out, "absent", "x.md"), "docs", "--out", filepath.Join(out, "absent", "x.md"))
}

// Every clause ID the model cites has a row in docs/clauses.md, and the
// page names no other.
func TestClausesDocListsEveryClause(t *testing.T) {
	doc := readRepoFile(t, "docs/clauses.md")
	rows := regexp.MustCompile(`(?m)^\| (NP-[A-Z-]+) \| (.+) \|$`).FindAllStringSubmatch(doc, -1)
	var documented []model.ClauseID
	for _, r := range rows {
		if len(strings.TrimSpace(r[2])) < 20 {
			t.Errorf("clause %s has no real text: %q", r[1], r[2])
		}
		documented = append(documented, model.ClauseID(r[1]))
	}
	if !reflect.DeepEqual(documented, model.Clauses()) {
		t.Errorf("docs/clauses.md lists %v, the model %v (same order)", documented, model.Clauses())
	}
}

// The default topology that docs/topology.md prints is the model's.
func TestTopologyDocShowsTheDefaultTopology(t *testing.T) {
	doc := readRepoFile(t, "docs/topology.md")
	_, rest, found := strings.Cut(doc, "<!-- default-topology -->\n```yaml\n")
	block, _, closed := strings.Cut(rest, "```")
	if !found || !closed {
		t.Fatal("docs/topology.md has no yaml block after <!-- default-topology -->")
	}
	got, err := manifest.ParseTopology("docs/topology.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if want := model.DefaultTopology(); !reflect.DeepEqual(got, want) {
		t.Errorf("docs/topology.md's default topology differs from model.DefaultTopology:\n got %+v\nwant %+v", got, want)
	}
	// The format example parses too.
	_, rest, _ = strings.Cut(doc, "## Format")
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, _ := strings.Cut(rest, "```")
	if _, err := manifest.ParseTopology("docs/topology.md", []byte(example)); err != nil {
		t.Errorf("the format example does not parse: %v", err)
	}
}

var (
	fencedBlock = regexp.MustCompile("(?s)```.*?```")
	codeSpan    = regexp.MustCompile("`[^`\n]*`")
	inlineLink  = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink     = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*(\S+)`)
	htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
)

// Every relative link of README.md and docs/*.md names a file (or
// directory) inside the repository, and every #anchor a heading of it.
func TestDocLinksResolveInsideTheRepository(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	checked := 0
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		for _, target := range markdownLinks(t, file) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				t.Errorf("%s links outside the repository: %s", rel, target)
				continue
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
			}
			if r, err := filepath.Rel(root, dest); err != nil || strings.HasPrefix(r, "..") {
				t.Errorf("%s: link %s leaves the repository", rel, target)
				continue
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %s: no such file in the repository", rel, target)
				continue
			}
			if anchor != "" && strings.HasSuffix(dest, ".md") && !headingAnchors(t, dest)[anchor] {
				t.Errorf("%s: link %s: no heading with the anchor #%s", rel, target, anchor)
			}
		}
	}
	if checked == 0 {
		t.Error("no link checked: the link pattern is broken")
	}
}

// markdownLinks returns the targets of the inline and reference links of a
// Markdown file, outside code and comments.
func markdownLinks(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := fencedBlock.ReplaceAllString(string(data), "")
	text = htmlComment.ReplaceAllString(text, "")
	text = codeSpan.ReplaceAllString(text, "")
	var out []string
	for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	for _, m := range refLink.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// headingAnchors are the anchors GitHub gives a Markdown file's headings:
// lower case, punctuation other than '-' and '_' dropped, spaces as '-'.
func headingAnchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := fencedBlock.ReplaceAllString(string(data), "")
	anchors := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		heading, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		anchors[b.String()] = true
	}
	return anchors
}

func TestAnchorsFollowGitHub(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.md")
	if err := os.WriteFile(file, []byte("# Exit codes\n## JSON and YAML output\n### How a cell is judged (no false passes)\n```\n# not a heading\n```\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := headingAnchors(t, file)
	for _, want := range []string{"exit-codes", "json-and-yaml-output", "how-a-cell-is-judged-no-false-passes"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block became a heading")
	}
}

// The case example of docs/cli.md reads as a case, with the labels the
// page says are derived, and replays offline to the states it describes.
func TestCLIDocCaseExampleReads(t *testing.T) {
	doc := readRepoFile(t, "docs/cli.md")
	_, rest, found := strings.Cut(doc, "<!-- case-example -->\n```yaml\n")
	block, _, closed := strings.Cut(rest, "```")
	if !found || !closed {
		t.Fatal("docs/cli.md has no yaml block after <!-- case-example -->")
	}
	c, err := cases.Unmarshal("docs/cli.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"regression", "tcp", "egress", "ipblock", "delete"}; !reflect.DeepEqual(c.Features, want) {
		t.Errorf("labels %v, want %v", c.Features, want)
	}
	states, err := cases.Replay(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := states[1].Policies[0].Spec.Egress[0].To[0].IPBlock.CIDR; got != "10.244.2.11/32" || len(states[2].Policies) != 0 {
		t.Errorf("after step 1 the ipBlock is %s, want y/b's 10.244.2.11/32; after step 2 %d policies", got, len(states[2].Policies))
	}
}
