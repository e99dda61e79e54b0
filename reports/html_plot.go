package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The time-to-enforce distribution is drawn by gonum/plot, not by hand: a
// histogram whose bins, axes and ticks come from a library that gets them
// right for any spread of values, written as SVG and inlined in the page so
// the report stays one file that fetches nothing.

// maxBins bounds the histogram's bins: past a few dozen, bars get thinner
// than a tick label and say no more.
const maxBins = 40

// enforcePlot is the distribution section of the report: the plot (empty
// when there is no data) and the sentence that sums it up.
type enforcePlot struct {
	SVG     template.HTML
	Summary string
}

// timeToEnforcePlot draws the histogram of times and sums them up in words.
// With no times it returns no plot and a sentence saying why.
func timeToEnforcePlot(times []time.Duration) (enforcePlot, error) {
	if len(times) == 0 {
		return enforcePlot{Summary: "No cell had a time to enforce: no step changed an expected decision and saw it come to match."}, nil
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	unit, name := time.Millisecond, "ms"
	if sorted[len(sorted)-1] >= 10*time.Second {
		unit, name = time.Second, "s"
	}
	vals := make(plotter.Values, len(sorted))
	for i, d := range sorted {
		vals[i] = float64(d) / float64(unit)
	}
	bins := min(max(int(math.Ceil(math.Sqrt(float64(len(vals))))), 1), maxBins)
	h, err := plotter.NewHist(vals, bins)
	if err != nil {
		return enforcePlot{}, fmt.Errorf("time-to-enforce histogram: %w", err)
	}
	h.FillColor = color.RGBA{R: 0x4a, G: 0x7d, B: 0xb8, A: 0xff}
	h.LineStyle.Color = color.RGBA{R: 0x1f, G: 0x3f, B: 0x66, A: 0xff}

	p := plot.New()
	p.Title.Text = "time to enforce a changed cell"
	p.X.Label.Text = "time to enforce (" + name + ")"
	p.Y.Label.Text = "cells"
	// Bars start at zero time, so the axis shows how far from instant the
	// enforcer is, not only the spread (Add widens the axes from here).
	p.X.Min, p.Y.Min = 0, 0
	// The page is set in a sans-serif face; the plot follows it.
	for _, s := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font} {
		s.Variant = "Sans"
	}
	p.Add(h)

	canvas := vgsvg.New(16*vg.Centimeter, 7*vg.Centimeter)
	p.Draw(draw.New(canvas))
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return enforcePlot{}, fmt.Errorf("time-to-enforce plot: %w", err)
	}
	svg, err := inlineSVG(b.String())
	if err != nil {
		return enforcePlot{}, err
	}
	return enforcePlot{SVG: template.HTML(svg), Summary: enforceSummary(sorted)}, nil
}

// inlineSVG turns a standalone SVG document into an element for an HTML
// page: the XML prolog and comments before <svg are not HTML, and the
// namespace declarations are implied by the HTML parser, so they go. The
// fixed width and height go too, so CSS can fit the plot to the page (the
// viewBox keeps its proportions).
func inlineSVG(doc string) (string, error) {
	i := strings.Index(doc, "<svg")
	if i < 0 {
		return "", fmt.Errorf("time-to-enforce plot: no <svg> element in the renderer's output")
	}
	svg := doc[i:]
	end := strings.Index(svg, ">")
	if end < 0 {
		return "", fmt.Errorf("time-to-enforce plot: unterminated <svg> tag")
	}
	tag := svgDropAttrs.ReplaceAllString(svg[len("<svg"):end], "")
	return `<svg role="img" aria-label="histogram of times to enforce"` + tag + svg[end:], nil
}

// svgDropAttrs matches the attributes of the <svg> tag that inlineSVG drops.
var svgDropAttrs = regexp.MustCompile(`\s+(width|height|xmlns|xmlns:xlink)="[^"]*"`)

// enforceSummary says the distribution in one sentence: how many cells, and
// the quantiles a reader compares between enforcers. sorted is ascending.
func enforceSummary(sorted []time.Duration) string {
	q := func(p float64) time.Duration {
		// Nearest rank: the smallest value with at least p of the values at
		// or below it.
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return sorted[min(max(i, 0), len(sorted)-1)]
	}
	cells := "cells"
	if len(sorted) == 1 {
		cells = "cell"
	}
	return fmt.Sprintf("%d %s changed by a step came to match: median %s, 90th percentile %s, 99th percentile %s, max %s.",
		len(sorted), cells, roundDuration(q(0.5)), roundDuration(q(0.9)), roundDuration(q(0.99)), roundDuration(sorted[len(sorted)-1]))
}

// roundDuration keeps the digits a person reads: milliseconds under a
// minute, seconds past it.
func roundDuration(d time.Duration) string {
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Millisecond).String()
}
