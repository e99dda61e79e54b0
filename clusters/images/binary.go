package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// BuildStaticBinary builds the main package pkg (e.g. "./cmd/probe") of the
// module at moduleDir as a static linux/goarch binary at out: images are FROM
// scratch or a bare Debian rootfs, so nothing may link against libc.
func BuildStaticBinary(ctx context.Context, moduleDir, goarch, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %w: %s", pkg, moduleDir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
