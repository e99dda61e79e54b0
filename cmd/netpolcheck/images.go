package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/netpolcheck/netpolcheck/clusters/images"
)

func newImagesCommand() *cobra.Command {
	var (
		outDir       string
		probeName    string
		skipEnforcer bool
	)
	cmd := &cobra.Command{
		Use:   "images -o DIR",
		Short: "Build the probe and enforcer images as docker-save tarballs, with no Docker or registry",
		Long: `images writes two image tarballs that "docker load -i" and kind
("kind load image-archive") accept:

  DIR/probe.tar     the probe agent: FROM scratch, a static probe binary,
                    entrypoint "probe serve", user 65532
  DIR/enforcer.tar  the reference enforcer: the static enforcer binary on a
                    root filesystem of Debian's iptables packages (fetched
                    with apt-get download, so it needs a Debian host)

It runs "go build" for the binaries, so run it inside the netpolcheck source
tree.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return badInput(errors.New("images: -o DIR is required"))
			}
			ctx := cmd.Context()
			moduleDir, err := images.ModuleDir(ctx)
			if err != nil {
				return badInput(err)
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "netpolcheck-images-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)

			binary := filepath.Join(tmp, "probe")
			if err := images.BuildStaticBinary(ctx, moduleDir, runtime.GOARCH, "./cmd/probe", binary); err != nil {
				return err
			}
			probe, err := images.ProbeImageNamed(probeName, binary)
			if err != nil {
				return badInput(err)
			}
			out := filepath.Join(outDir, "probe.tar")
			if err := images.Write(out, probe); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s)\n", out, probe.Name())

			if skipEnforcer {
				return nil
			}
			// The .deb files are kept between runs: fetching them is the slow part.
			work, err := enforcerImageWorkDir()
			if err != nil {
				return err
			}
			out = filepath.Join(outDir, "enforcer.tar")
			if err := images.WriteEnforcerImage(ctx, work, out); err != nil {
				return fmt.Errorf("enforcer image: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s)\n", out, images.EnforcerImageName)
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory for the image tarballs (required)")
	cmd.Flags().StringVar(&probeName, "probe-image", images.ProbeImageName, "name:tag of the probe image")
	cmd.Flags().BoolVar(&skipEnforcer, "skip-enforcer", false, "build only the probe image")
	return cmd
}

func enforcerImageWorkDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("enforcer image: %w", err)
	}
	dir := filepath.Join(cache, "netpolcheck", "enforcer-image")
	return dir, os.MkdirAll(dir, 0o755)
}
