package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Cases as YAML: run --export-case writes a library case as a file, replay
// runs files. A case that failed somewhere, was generated or was shrunk is
// then something to keep, share and run again on any cluster, the same way
// run runs the library.

func newReplayCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "replay FILE...",
		Short: "Run cases written as YAML files against a cluster, as run runs the library",
		Long: `replay reads one case from each file (- for stdin), in the format of
docs/cli.md ("Cases as YAML"; netpolcheck run --export-case NAME writes any
case of the library), and runs them exactly as run runs the library: the
same cluster, enforcer, preflight, deadlines, reports and exit codes.

Every file is read and checked before anything is built: an unknown key,
an action that does not fit the steps before it, or a policy the API server
would refuse is one line naming the file, the step and the action (exit 2).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("replay: give one or more case files (netpolcheck run --export-case NAME writes one)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.settle(cmd)
			return replayCases(cmd.Context(), f, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	addExecutionFlags(cmd.Flags(), &f)
	return cmd
}

// replayCases checks the flags and reads every file, then runs the cases.
func replayCases(ctx context.Context, f runFlags, paths []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := checkOutput(f.output); err != nil {
		return badInput(err)
	}
	if err := f.validateExecution(); err != nil {
		return badInput(err)
	}
	selected, err := readCases(paths, stdin)
	if err != nil {
		return badInput(err)
	}
	if err := f.checkNodes(selected); err != nil {
		return badInput(err)
	}
	return runSelected(ctx, f, selected, caseSource{suite: "netpolcheck replay", library: selected}, stdout, stderr)
}

// readCases reads one case per file; names must differ, as the reports
// tell cases apart by name.
func readCases(paths []string, stdin io.Reader) ([]cases.Case, error) {
	var out []cases.Case
	from := map[string]string{}
	for _, path := range paths {
		var data []byte
		var err error
		name := path
		if path == "-" {
			name = "stdin"
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(path)
		}
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c, err := cases.Unmarshal(name, data)
		if err != nil {
			return nil, err
		}
		if first, dup := from[c.Name]; dup {
			return nil, fmt.Errorf("%s: case %q is also in %s: names must differ", name, c.Name, first)
		}
		from[c.Name] = name
		out = append(out, c)
	}
	return out, nil
}

// validateExport checks --export-case and returns the case.
func (f runFlags) validateExport() ([]cases.Case, error) {
	switch {
	case f.list:
		return nil, errors.New("--export-case and --list exclude each other")
	case f.dumpCase != "" || f.dumpStep != 0:
		return nil, errors.New("--export-case and --dump-case exclude each other")
	case f.output == outputJSON:
		return nil, errors.New("--export-case writes case YAML: drop -o json")
	}
	c, err := cases.ByName(f.exportCase)
	if err != nil {
		return nil, fmt.Errorf("--export-case %q: no case has this name (see --list)", f.exportCase)
	}
	return []cases.Case{c}, nil
}

// exportCase writes a case as the YAML replay reads.
func exportCase(w io.Writer, c cases.Case) error {
	data, err := cases.Marshal(c)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
