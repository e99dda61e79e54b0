package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/reports"
	"github.com/netpolcheck/netpolcheck/reports/result"
)

func newReportCommand() *cobra.Command {
	var from, dir string
	outs := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "report --from results.jsonl",
		Short: "Render a run's results (JSONL) as JUnit, HTML, Markdown and conformance YAML",
		Long: `report reads the JSON lines a run wrote (results.jsonl in its report
directory) and renders them again: each format to the file its flag names,
or, with no format flag, all of them into --dir (default: the directory of
--from). A run that was killed before its end is rendered as it stands, and
every format says it is incomplete.

Exit codes: 0 rendered, 2 the results file is missing or malformed (the
message names the file and line), 3 a report could not be written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return badInput(fmt.Errorf("--from: give the results file, e.g. reports/out/RUN/%s", reports.JSONLName))
			}
			set, err := reports.ReadFile(from)
			if err != nil {
				return badInput(err)
			}
			var written []string
			for _, f := range reports.Formats {
				path := *outs[f.Name]
				if path == "" {
					continue
				}
				if err := reports.WriteFile(path, set, f.Render); err != nil {
					return infraError(err)
				}
				written = append(written, path)
			}
			if len(written) == 0 {
				if dir == "" {
					dir = filepath.Dir(from)
				}
				if written, err = reports.WriteAll(dir, set); err != nil {
					return infraError(err)
				}
			} else if dir != "" {
				return badInput(fmt.Errorf("--dir writes every format; it does not go with --junit, --html, --markdown or --conformance"))
			}
			describeSet(cmd.ErrOrStderr(), from, set)
			for _, p := range written {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "the results file a run wrote ("+reports.JSONLName+")")
	fl.StringVar(&dir, "dir", "", "write every format into this directory (default: the directory of --from)")
	for _, f := range []struct{ flag, name, what string }{
		{"junit", reports.JUnitName, "JUnit XML"},
		{"html", reports.HTMLName, "the HTML report"},
		{"markdown", reports.MarkdownName, "the Markdown summary"},
		{"conformance", reports.ConformanceName, "the conformance report (YAML)"},
	} {
		outs[f.name] = new(string)
		fl.StringVar(outs[f.name], f.flag, "", "write "+f.what+" to this file")
	}
	return cmd
}

// describeSet says in one line what the results hold.
func describeSet(w io.Writer, path string, set *result.Set) {
	t := set.Totals()
	fmt.Fprintf(w, "%s: run %s, %d of %d cases: %d passed, %d failed, %d errors; %s\n",
		path, set.Run.ID, t.Ran, t.Selected, t.Passed, t.Failed, t.Errors, set.Outcome())
	if !set.Complete() {
		fmt.Fprintf(w, "%s: the run is incomplete (%s); the reports say so\n", path, incompleteWhy(set))
	}
}

// incompleteWhy says why a set is not complete.
func incompleteWhy(set *result.Set) string {
	switch {
	case set.End == nil:
		return "no end line: the run was killed"
	case set.End.Interrupted != "":
		return "interrupted while " + set.End.Interrupted
	case set.End.Error != nil:
		return set.End.Error.Message
	}
	return fmt.Sprintf("%d of %d selected cases ran", len(set.Cases), set.Run.Selected)
}

func newCompareCommand() *cobra.Command {
	var html string
	cmd := &cobra.Command{
		Use:   "compare A.jsonl B.jsonl",
		Short: "List the cells where two runs disagree (two plugins, or two versions of one)",
		Long: `compare reads two runs' results and prints the cells of the same case and
step that were judged differently, or reached differently (one connected, the
other not), as a table; --html also writes it as a page. Denying by reject in
one run and by drop in the other is not a disagreement.

Exit codes: 0 the runs agree, 1 they disagree, 2 a file is missing or
malformed.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sets [2]*result.Set
			for i, path := range args {
				set, err := reports.ReadFile(path)
				if err != nil {
					return badInput(err)
				}
				sets[i] = set
			}
			c := reports.Compare(sets[0], sets[1])
			if err := reports.WriteComparison(cmd.OutOrStdout(), c); err != nil {
				return infraError(err)
			}
			if html != "" {
				var page bytes.Buffer
				if err := reports.WriteComparisonHTML(&page, c); err != nil {
					return infraError(fmt.Errorf("--html %s: %w", html, err))
				}
				if err := os.WriteFile(html, page.Bytes(), 0o644); err != nil {
					return badInput(fmt.Errorf("--html: %w", err))
				}
			}
			if len(c.Cells) > 0 {
				return failed(fmt.Errorf("the runs disagree on %s", plural(len(c.Cells), "cell")))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&html, "html", "", "also write the comparison as an HTML page to this file")
	return cmd
}
