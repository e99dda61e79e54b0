package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes: 1 for a failed check (cases failed), 2 for bad input or usage.
const (
	exitFailed   = 1
	exitBadInput = 2
)

// exitError carries an exit code with the one-line message printed for it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as a user input error: one line on stderr, exit 2.
func badInput(err error) error { return &exitError{code: exitBadInput, err: err} }

// failed marks err as a failed check: exit 1.
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

func execute(root *cobra.Command) int {
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "netpolcheck:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Cobra's own errors (unknown flag or command) are usage errors.
	return exitBadInput
}
