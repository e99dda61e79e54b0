package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/cases/generate"
)

// Generated cases as files: what suites/generated runs, written out so
// that a seed's cases can be read, kept, and replayed on any cluster with
// replay, like any other case.

func newGenerateCommand() *cobra.Command {
	var (
		seed  int64
		count int
		out   string
	)
	cmd := &cobra.Command{
		Use:   "generate --seed N --count M -o DIR",
		Short: "Write generated cases as YAML files (netpolcheck replay DIR/*.yaml runs them)",
		Long: `generate writes M generated cases, one YAML file each, into DIR: the
combinatorial family over the spec's dimensions (policyTypes, target
selector, peer, selector form, port form, protocol, and a change over
time) and seeded random cases, alternately. The same seed gives the same
files byte for byte, and a larger count the same files first; the suite
suites/generated runs the same cases (NETPOLCHECK_GENERATED_SEED and
NETPOLCHECK_GENERATED_COUNT).

Each case is labelled with "generated", its dimensions ("peer=ipblock",
"port=named", ...) and the labels derived from its policies, and lists the
clause IDs the model's reasons cite for its steps. Files are named
gen-<seed>-<index>.yaml; DIR is created if missing and must not hold YAML
files already, so that a replay of DIR/*.yaml runs one seed's cases.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return generateCases(cmd.OutOrStdout(), seed, count, out)
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&seed, "seed", 1, "seed of the cases (1 or more; the reports record it)")
	fl.IntVar(&count, "count", 100, "how many cases to write")
	fl.StringVarP(&out, "output", "o", "", "directory for the case files (required)")
	return cmd
}

// generateCases checks the flags, then writes the cases and says how many.
func generateCases(stdout io.Writer, seed int64, count int, dir string) error {
	switch {
	case seed < 1:
		// Zero is what the reports write when no seed drove a run.
		return badInput(fmt.Errorf("--seed %d: want 1 or more", seed))
	case count < 1:
		return badInput(fmt.Errorf("--count %d: want 1 or more", count))
	case dir == "":
		return badInput(errors.New("-o DIR: give the directory for the case files"))
	}
	if err := checkGenerateDir(dir); err != nil {
		return badInput(err)
	}
	all, err := generate.Cases(seed, count)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return badInput(fmt.Errorf("-o %s: %w", dir, err))
	}
	width := len(fmt.Sprint(count - 1))
	for i, c := range all {
		data, err := cases.Marshal(c)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, fmt.Sprintf("gen-%d-%0*d.yaml", seed, width, i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s (seed %d) to %s; netpolcheck replay %s runs them\n",
		plural(len(all), "case"), seed, dir, filepath.Join(dir, "*.yaml"))
	return nil
}

// checkGenerateDir refuses a -o that is a file or already holds YAML
// files: a replay of DIR/*.yaml would mix them with these cases.
func checkGenerateDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("-o %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("-o %s: is a file; want a directory", dir)
	}
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) > 0 {
			return fmt.Errorf("-o %s: holds YAML files already (%s); give an empty or new directory", dir, filepath.Base(m[0]))
		}
	}
	return nil
}
