package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// -v/--verbosity, a persistent flag of the root command: how much the
// cluster, the enforcer it runs and the runner log to stderr.
//
//	0   nothing (the default)
//	1   warnings and errors
//	2   progress: the cluster's phases, one line per step
//	3+  debug: everything
const verbosityFlag = "verbosity"

func addVerbosityFlag(root *cobra.Command) {
	root.PersistentFlags().IntP(verbosityFlag, "v", 0, "log verbosity on stderr: 0 nothing, 1 warnings, 2 progress, 3 debug")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if v := verbosity(cmd); v < 0 {
			return badInput(fmt.Errorf("--verbosity %d: want 0 (nothing) to 3 (debug)", v))
		}
		return nil
	}
}

// verbosity is the -v of the command line that ran cmd.
func verbosity(cmd *cobra.Command) int {
	v, err := cmd.Flags().GetInt(verbosityFlag)
	if err != nil {
		return 0
	}
	return v
}

// newLogger is the one logger of a command: a text handler on w at the
// level -v asks for, or one that discards everything at -v 0.
func newLogger(w io.Writer, v int) *slog.Logger {
	var level slog.Level
	switch {
	case v <= 0:
		return provider.Discard()
	case v == 1:
		level = slog.LevelWarn
	case v == 2:
		level = slog.LevelInfo
	default:
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
