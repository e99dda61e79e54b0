package main

import (
	"os"

	"github.com/spf13/cobra"
)

// subcommands holds the constructors of the top-level commands; each command's
// file appends its own in init, so commands can be added without touching this file.
var subcommands []func() *cobra.Command

func main() {
	root := &cobra.Command{
		Use:           "netpolcheck",
		Short:         "Check that a cluster enforces NetworkPolicy as the API specifies",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd())
	}
	os.Exit(execute(root))
}
