// Package result is the one result model of a netpolcheck run: the run's
// metadata, per case and step the verdict, and per cell the pods, port and
// protocol, the model's expected decision with its reasons, the observed
// outcome and its timings. The runner fills it; every report renders it and
// none changes it.
//
// It also holds the grid: one source-by-destination matrix per port and
// protocol, in three views (expected, observed, comparison), one text
// format for all of them. Terminal output, JUnit failure text, the HTML page
// and the hand-written tables of the case library all go through it.
//
// It is a leaf: it imports only the spec model and the probe outcomes, so
// the runner below it and the renderers above it can share it.
package result
