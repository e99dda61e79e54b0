package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// groupCommand makes c and every command group below it refuse an unknown
// subcommand with a usage error and a suggestion; a group given no
// subcommand prints its help. Cobra alone prints help and exits 0 for an
// unknown subcommand of a group that is not the root.
func groupCommand(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groupCommand(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return badInput(unknownCommand(cmd, args[0]))
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		return fmt.Errorf("%s; did you mean %q? (see '%s --help')", msg, s[0], cmd.CommandPath())
	}
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return fmt.Errorf("%s; available: %s", msg, strings.Join(names, ", "))
}

// ansi matches terminal colour and style escapes.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")

// oneLine removes terminal escapes from s and joins its lines with "; ", so
// an error is one line on a terminal and in a pipe alike.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(ansi.ReplaceAllString(s, ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
