package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes, one meaning each (README, "Exit codes").
const (
	// exitFailed: the enforcer under test failed cases.
	exitFailed = 1
	// exitBadInput: bad usage, flags or input files; nothing was built.
	exitBadInput = 2
	// exitInfra: the cluster, the probes or the harness failed, so nothing
	// was learned about the enforcer.
	exitInfra = 3
	// exitInterrupted: Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
	exitInterrupted = 130
)

// exitError carries an exit code with the one-line message printed for it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as bad usage or input: exit 2.
func badInput(err error) error { return &exitError{code: exitBadInput, err: err} }

// failed marks err as a failed check: exit 1.
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// infraError marks err as an infrastructure error: exit 3.
func infraError(err error) error { return &exitError{code: exitInfra, err: err} }

// interrupted is the error of a command stopped by a signal while doing what.
func interrupted(what string) error {
	return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted while %s", what)}
}

// execute runs root with ctx, prints a failure as one line on root's stderr
// and returns the exit code. Errors a command returns unclassified are
// infrastructure errors; errors cobra returns before a command runs (unknown
// flags, missing required flags) are usage errors. Once ctx is cancelled
// (a signal), the code is exitInterrupted whatever failed on the way out.
func execute(ctx context.Context, root *cobra.Command) int {
	classifyRunErrors(root)
	err := root.ExecuteContext(ctx)
	code := 0
	var ee *exitError
	switch {
	case err != nil && errors.As(err, &ee):
		code = ee.code
	case err != nil:
		code = exitBadInput
	}
	if ctx.Err() != nil && code != 0 && code != exitInterrupted {
		code = exitInterrupted
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		} else {
			err = fmt.Errorf("interrupted: %w", err)
		}
	}
	if err != nil {
		printError(root.ErrOrStderr(), err)
	}
	return code
}

// printError prints err as "netpolcheck: message" on one line.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "netpolcheck:", oneLine(err.Error()))
}

// classifyRunErrors wraps the RunE of every command below c so that an
// error it returns without an exit code counts as an infrastructure error.
func classifyRunErrors(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			var ee *exitError
			if err == nil || errors.As(err, &ee) {
				return err
			}
			return infraError(err)
		}
	}
	for _, sub := range c.Commands() {
		classifyRunErrors(sub)
	}
}
