package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	// Ctrl-C and SIGTERM cancel the context at any point: commands stop,
	// clean up what they built, and exit with exitInterrupted.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, newRootCommand())
	stop()
	os.Exit(code)
}

// newRootCommand wires every command explicitly.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "netpolcheck",
		Short: "Check that a cluster enforces NetworkPolicy as the API specifies",
		Long: `netpolcheck checks that a cluster enforces NetworkPolicy as the API
specifies: run plays the case library against a cluster and replay cases
written as YAML files (generate writes generated ones); report and compare
render and compare runs' results; table and explain show, offline, what
policies allow and why.

Exit codes: 0 all passed, 1 the enforcer under test failed cases, 2 bad usage
or input, 3 infrastructure error (nothing was learned about the enforcer),
130 interrupted.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(
		newRunCommand(),
		newReplayCommand(),
		newGenerateCommand(),
		newTableCommand(),
		newExplainCommand(),
		newReportCommand(),
		newCompareCommand(),
		newClusterCommand(),
		newImagesCommand(),
		newDocsCommand(),
	)
	addVerbosityFlag(root)
	groupCommand(root)
	return root
}
