package reports

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

// The HTML report is tested twice: as text (it is self-contained, it names
// what it must), and in a real browser, where the assertions are what a
// person sees: the numbers of the summary, the cells marked wrong, the
// reasons a click shows, the failure filter, and that the page fetches
// nothing.

// failedCase is the fixture's failed case, and failedKeys its wrong cells.
const failedCase = "egress to y on 81/SCTP"

var failedKeys = []string{"x/a -> y/a 81/SCTP", "x/b -> y/a 81/SCTP"}

func renderHTML(t *testing.T, set *result.Set) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, set); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return b.String()
}

// externalRef finds what would make a browser fetch something: a URL in a
// src, href, xlink:href, action or poster attribute, a CSS url() or
// @import, and the elements that load by design.
var externalRef = regexp.MustCompile(`(?i)((src|href|action|poster|srcset)\s*=\s*["']?\s*(https?:|//|ftp:))|url\(\s*["']?\s*(https?:|//)|@import|<script[^>]*\ssrc\s*=|<link[^>]*\shref\s*=|<iframe|<object|<embed`)

// assertSelfContained fails when page could fetch anything.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	if m := externalRef.FindAllString(page, -1); len(m) > 0 {
		t.Errorf("the page references external resources: %q", m)
	}
	// The only URL the page holds is the enforcer's project, as text.
	for _, u := range regexp.MustCompile(`https?://[^\s"'<>]+`).FindAllString(page, -1) {
		if u != fixtureSet().Run.Enforcer.URL {
			t.Errorf("the page holds the URL %q; the only one allowed is the enforcer's project, as text", u)
		}
	}
}

func TestWriteHTMLSelfContained(t *testing.T) {
	page := renderHTML(t, fixtureSet())
	assertSelfContained(t, page)
	for _, want := range []string{
		`<b data-count="passed">2</b>`, `<b data-count="failed">1</b>`, `<b data-count="errors">1</b>`,
		`<b data-count="undefined">2</b>`, `<b data-count="leak-rounds">8</b>`, `<b data-count="leaks-after-convergence">6</b>`,
		"<svg", `id="failures-only"`, "netpolcheck-reference-iptables v0.1.0-test",
		"<dd>" + fixtureSet().Run.Enforcer.URL + "</dd>", // the project URL as text
		"no rule admits x/a on 81/SCTP for ingress",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="incomplete"`) {
		t.Error("a complete run shows the INCOMPLETE banner")
	}
	// Passed cases start collapsed; the others open.
	for _, c := range fixtureSet().Cases {
		open := regexp.MustCompile(`data-case="` + regexp.QuoteMeta(c.Name) + `" data-verdict="[a-z]+">\s*<details open>`).MatchString(page)
		if want := c.Verdict() != result.Passed; open != want {
			t.Errorf("case %q (%s): open %v, want %v", c.Name, c.Verdict(), open, want)
		}
	}
}

func TestWriteHTMLWithoutTimes(t *testing.T) {
	set := fixtureSet()
	set.Cases = set.Cases[2:3] // the errored case: nothing came to match
	page := renderHTML(t, set)
	assertSelfContained(t, page)
	if strings.Contains(page, "<svg") {
		t.Error("a run without times to enforce has a plot")
	}
	if !strings.Contains(page, "No cell had a time to enforce") {
		t.Error("a run without times to enforce does not say so")
	}
}

func TestHTMLTimeToEnforcePlot(t *testing.T) {
	// One value, equal values, and a spread past ten seconds (plotted in
	// seconds) must all plot.
	for _, times := range [][]time.Duration{
		{5 * time.Millisecond},
		{0, 0, 0},
		{time.Millisecond, 2 * time.Second, 40 * time.Second},
	} {
		p, err := timeToEnforcePlot(times)
		if err != nil {
			t.Fatalf("%v: %v", times, err)
		}
		if !strings.HasPrefix(string(p.SVG), "<svg") || !strings.Contains(string(p.SVG), "viewBox") {
			t.Errorf("%v: not an inline <svg> with a viewBox: %.120q", times, p.SVG)
		}
		if externalRef.MatchString(string(p.SVG)) {
			t.Errorf("%v: the plot references external resources", times)
		}
	}
	if got := enforceSummary([]time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}); !strings.Contains(got, "median 20ms") || !strings.Contains(got, "max 40ms") {
		t.Errorf("summary %q: want median 20ms and max 40ms", got)
	}
}

func TestWriteComparisonHTML(t *testing.T) {
	a, b := fixtureSet().Run, fixtureSet().Run
	b.ID, b.Enforcer.Name, b.Enforcer.Version = "20261130-090000-npc-other", "other-enforcer", "v2.0.0"
	denied := result.Cell{From: fxA, To: fyA, PortProtocol: sctp81, Expected: model.Denied, Observed: agent.Rejected, Match: true,
		Reasons: []model.Reason{{Direction: model.Ingress, Clause: model.ClauseIso, Text: "y/a is isolated for ingress by y/deny"}}}
	leaked := denied
	leaked.Observed, leaked.Match, leaked.LeaksAfterConvergence = agent.Connected, false, 3
	allowed := result.Cell{From: fxB, To: fxA, PortProtocol: tcp80, Expected: model.Allowed, Observed: agent.Connected, Match: true}
	timedOut := allowed
	timedOut.Observed, timedOut.Match = agent.Timeout, false
	c := Comparison{A: a, B: b,
		Cells: []CellDiff{
			{Case: failedCase, Step: "deny egress to y/a on 81/SCTP", A: denied, B: leaked},
			{Case: "ingress deny-all in x", Step: "nothing changes", A: timedOut, B: allowed},
		},
		OnlyA: []string{"the node reaches its pods"}, OnlyB: []string{"named port resolves per pod / admit serve-80-tcp by name"},
		Cases: 3, CellsCompared: 54,
	}
	var buf bytes.Buffer
	if err := WriteComparisonHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	assertSelfContained(t, page)
	rows := regexp.MustCompile(`<tr class="diff" data-key="([^"]+)"`).FindAllStringSubmatch(page, -1)
	var keys []string
	for _, r := range rows {
		keys = append(keys, strings.ReplaceAll(r[1], "&gt;", ">"))
	}
	if want := []string{"x/a -> y/a 81/SCTP", "x/b -> x/a 80/TCP"}; !slices.Equal(keys, want) {
		t.Errorf("rows %q, want %q", keys, want)
	}
	for _, want := range []string{
		`<b data-count="disagreements">2</b>`, `<b data-count="cells">54</b>`, `<b data-count="only-a">1</b>`,
		a.ID, b.ID, "other-enforcer v2.0.0", failedCase, "nothing changes",
		"the node reaches its pods", "named port resolves per pod / admit serve-80-tcp by name",
		// A's and B's cells: expected, observed, and the comparison glyph
		// with its class.
		`data-side="observed">. connected`, `data-side="observed">D timeout`,
		`data-comparison="leak" data-wrong="true"`, `data-comparison="wrong" data-wrong="true"`,
		"y/a is isolated for ingress by y/deny", "WRONG: leaked after convergence",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the comparison lacks %q", want)
		}
	}
}

// browser starts one headless chromium for a test and returns its context,
// bounded to a minute. The browser is part of the test's contract: it is
// installed by make setup, and a missing one fails rather than skips, so a
// green run always means the page was checked in a browser.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: make setup installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root, where chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1024),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// eval runs a script in the page and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %s: %v", script, err)
	}
	return v
}

// text is what the page shows of the first element sel matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func writeHTMLFile(t *testing.T, dir, name string, set *result.Set) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(renderHTML(t, set)), 0o644); err != nil {
		t.Fatal(err)
	}
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// visibleCases names the case sections a person can see, in page order.
const visibleCases = `[...document.querySelectorAll("section.case")].filter(s => s.checkVisibility()).map(s => s.dataset.case)`

func TestHTMLBrowser(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("the browser test took %s", time.Since(start).Round(time.Millisecond)) }()
	dir := t.TempDir()
	reportURL := writeHTMLFile(t, dir, "report.html", fixtureSet())
	incompleteURL := writeHTMLFile(t, dir, "incomplete.html", incompleteFixtureSet())
	ctx := browser(t)

	// Every request and every script error of the tab, from before the
	// first navigation on.
	var (
		mu         sync.Mutex
		requests   []string
		exceptions []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Request != nil {
				requests = append(requests, ev.Request.URL)
			}
		case *runtime.EventExceptionThrown:
			if d := ev.ExceptionDetails; d != nil {
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				exceptions = append(exceptions, msg)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(reportURL)); err != nil {
		t.Fatalf("load the report: %v", err)
	}

	t.Run("summary", func(t *testing.T) {
		for count, want := range map[string]string{
			"passed": "2", "failed": "1", "errors": "1", "not-run": "0",
			"undefined": "2", "leak-rounds": "8", "leaks-after-convergence": "6",
		} {
			if got := text(t, ctx, `[data-count="`+count+`"]`); got != want {
				t.Errorf("summary %s shows %q, want %q", count, got, want)
			}
		}
		if got := text(t, ctx, "#summary"); !strings.Contains(got, "leaks after convergence") || !strings.Contains(got, "undefined cells") {
			t.Errorf("the summary does not say what its numbers count: %q", got)
		}
		if got := text(t, ctx, "#run"); !strings.Contains(got, "netpolcheck-reference-iptables") || !strings.Contains(got, "v1.37.2") ||
			!strings.Contains(got, "netns") || !strings.Contains(got, "2026-11-29T12:00:00Z") || !strings.Contains(got, "15s") {
			t.Errorf("the run metadata lacks the enforcer, Kubernetes, provider, start or duration: %q", got)
		}
		if eval[bool](t, ctx, `document.getElementById("incomplete") !== null`) {
			t.Error("a complete run shows the INCOMPLETE banner")
		}
		if w := eval[float64](t, ctx, `document.querySelector("#time-to-enforce svg").getBoundingClientRect().width`); w < 100 {
			t.Errorf("the time-to-enforce plot is %gpx wide", w)
		}
	})

	t.Run("wrong cells", func(t *testing.T) {
		got := eval[[]string](t, ctx, `[...document.querySelectorAll('section.case[data-case="`+failedCase+`"] td[data-wrong="true"]')]
			.filter(td => td.checkVisibility()).map(td => td.dataset.key)`)
		if !slices.Equal(got, failedKeys) {
			t.Errorf("the failed case shows wrong cells %q, want %q", got, failedKeys)
		}
		// What a person reads in a wrong cell: denied, connected, leaked.
		glyphs := eval[string](t, ctx, `document.querySelector('section.case[data-case="`+failedCase+`"] td[data-wrong="true"]').innerText`)
		if strings.Join(strings.Fields(glyphs), "") != "X.L" {
			t.Errorf("a leaked cell shows %q, want the glyphs X . L", glyphs)
		}
		// The passed cases mark nothing wrong.
		if n := eval[int](t, ctx, `document.querySelectorAll('section.case[data-verdict="passed"] td[data-wrong="true"]').length`); n != 0 {
			t.Errorf("passed cases mark %d cells wrong", n)
		}
	})

	t.Run("cell detail", func(t *testing.T) {
		sel := `section.case[data-case="` + failedCase + `"] td[data-wrong="true"]`
		title := eval[string](t, ctx, `document.querySelector('`+sel+`').title`)
		if !strings.Contains(title, "no rule admits x/a on 81/SCTP for ingress") {
			t.Errorf("hovering the wrong cell shows %q, without the model's reasons", title)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatal(err)
		}
		if !eval[bool](t, ctx, `document.getElementById("cell-detail").checkVisibility()`) {
			t.Fatal("clicking a wrong cell shows no detail panel")
		}
		key, detail := text(t, ctx, "#cell-detail-key"), text(t, ctx, "#cell-detail-text")
		if !strings.Contains(key, failedKeys[0]) || !strings.Contains(key, "leaked after convergence") {
			t.Errorf("the panel's heading is %q, want the cell's key and its leak", key)
		}
		for _, want := range []string{"expected: denied", "NP-ISO", "y/a is isolated for ingress by y/deny",
			"no rule admits x/a on 81/SCTP for ingress", "observed: connected", "leaks: 2 rounds before convergence, 3 after"} {
			if !strings.Contains(detail, want) {
				t.Errorf("the panel lacks %q:\n%s", want, detail)
			}
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("cell-detail-close"))); err != nil {
			t.Fatal(err)
		}
		if eval[bool](t, ctx, `document.getElementById("cell-detail").checkVisibility()`) {
			t.Error("the detail panel stays after close")
		}
	})

	t.Run("failure filter", func(t *testing.T) {
		all := []string{"ingress deny-all in x", failedCase, "named port resolves per pod", "the node reaches its pods"}
		if got := eval[[]string](t, ctx, visibleCases); !slices.Equal(got, all) {
			t.Fatalf("before filtering the page shows cases %q, want %q", got, all)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("failures-only"))); err != nil {
			t.Fatal(err)
		}
		if got, want := eval[[]string](t, ctx, visibleCases), []string{failedCase, "named port resolves per pod"}; !slices.Equal(got, want) {
			t.Errorf("with failures only the page shows cases %q, want %q", got, want)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("failures-only"))); err != nil {
			t.Fatal(err)
		}
		if got := eval[[]string](t, ctx, visibleCases); !slices.Equal(got, all) {
			t.Errorf("after clearing the filter the page shows cases %q, want %q", got, all)
		}
	})

	t.Run("no network request", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		seen := false
		for _, u := range requests {
			switch {
			case u == reportURL:
				seen = true
			case strings.HasPrefix(u, "data:"):
			default:
				t.Errorf("the page requested %s", u)
			}
		}
		if !seen {
			t.Errorf("no request for the report itself among %q: the listener saw nothing", requests)
		}
	})

	t.Run("incomplete banner", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(incompleteURL)); err != nil {
			t.Fatalf("load the incomplete report: %v", err)
		}
		banner := text(t, ctx, "#incomplete")
		if !strings.HasPrefix(banner, "INCOMPLETE") || !strings.Contains(banner, "2 of 6") {
			t.Errorf("the banner says %q, want INCOMPLETE and 2 of 6", banner)
		}
		if !eval[bool](t, ctx, `document.getElementById("incomplete").checkVisibility()`) {
			t.Error("the INCOMPLETE banner is not visible")
		}
		if got := text(t, ctx, `[data-count="not-run"]`); got != "4" {
			t.Errorf("not run shows %q, want 4", got)
		}
		if got := text(t, ctx, "#outcome"); !strings.EqualFold(got, "incomplete") {
			t.Errorf("the outcome shows %q, want incomplete", got)
		}
	})

	mu.Lock()
	defer mu.Unlock()
	if len(exceptions) > 0 {
		t.Errorf("the page's script threw: %q", exceptions)
	}
}
