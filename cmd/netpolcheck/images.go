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

func init() { subcommands = append(subcommands, newImagesCommand) }

func newImagesCommand() *cobra.Command {
	var (
		outDir    string
		probeName string
		arch      string
	)
	cmd := &cobra.Command{
		Use:   "images -o DIR",
		Short: "Build the probe image as a docker-save tarball, with no Docker or registry",
		Long: `images builds the probe agent image (FROM scratch: a static probe binary,
entrypoint "probe serve", user 65532) and writes DIR/probe.tar, which
"docker load -i" and kind ("kind load image-archive") accept. It runs
"go build" for the binary, so run it inside the netpolcheck source tree.`,
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
			tmp, err := os.MkdirTemp("", "netpolcheck-images-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			binary := filepath.Join(tmp, "probe")
			if err := images.BuildProbeBinary(ctx, moduleDir, arch, binary); err != nil {
				return err
			}
			img, err := images.ProbeImage(binary)
			if err != nil {
				return err
			}
			if probeName != images.ProbeImageName {
				if img, err = images.ProbeImageNamed(probeName, binary); err != nil {
					return badInput(err)
				}
			}
			out := filepath.Join(outDir, "probe.tar")
			if err := images.Write(out, img); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s, linux/%s)\n", out, img.Name(), arch)
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory for the image tarballs (required)")
	cmd.Flags().StringVar(&probeName, "probe-image", images.ProbeImageName, "name:tag of the probe image")
	cmd.Flags().StringVar(&arch, "arch", runtime.GOARCH, "image architecture (GOARCH)")
	return cmd
}
