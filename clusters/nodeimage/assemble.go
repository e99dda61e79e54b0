package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// The node's image config as kind runs it. STOPSIGNAL SIGRTMIN+3 is left
// out: Docker 20.10 rejects it in --change, and kind removes nodes with
// rm -f anyway.
var nodeChanges = []string{
	`ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
	`ENV container=docker`,
}

// importRoot turns the node root into a stage image: tar piped into docker
// import.
func (b *builder) importRoot(ctx context.Context, root, stage string) (string, error) {
	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "--numeric-owner", "-c", ".")
	args := []string{"import"}
	for _, c := range nodeChanges {
		args = append(args, "--change", c)
	}
	importCmd := exec.CommandContext(ctx, "docker", append(args, "-", stage)...)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	var tarErr, importErr bytes.Buffer
	tarCmd.Stderr = &tarErr
	importCmd.Stdin, importCmd.Stderr = pipe, &importErr
	if err := tarCmd.Start(); err != nil {
		return "", fmt.Errorf("tar of the node root: %w", err)
	}
	ierr := importCmd.Run()
	terr := tarCmd.Wait()
	if terr != nil {
		return "", fmt.Errorf("tar of the node root: %w: %s", terr, lastLines(tarErr.String(), 10))
	}
	if ierr != nil {
		return "", fmt.Errorf("docker import: %w: %s", ierr, lastLines(importErr.String(), 10))
	}
	return "stage image " + stage, nil
}

// preloadScript runs in the stage container: a containerd of the node's
// own imports the control-plane images into the k8s.io namespace, where the
// kubelet's CRI looks, without unpacking them (the CRI unpacks an image on
// first use), then stops.
const preloadScript = `set -eu
containerd >/tmp/preload-containerd.log 2>&1 &
pid=$!
i=0
until [ -S /run/containerd/containerd.sock ]; do
	i=$((i+1))
	if [ $i -gt 300 ]; then echo "containerd did not start:"; cat /tmp/preload-containerd.log; exit 1; fi
	sleep 0.1
done
ctr -n k8s.io images import --all-platforms --no-unpack /kind/preload.tar
ctr -n k8s.io images ls -q
rm -f /kind/preload.tar /tmp/preload-containerd.log
kill $pid
wait $pid || true
`

// preload imports the component images into a container of the stage
// image and commits it as the node image, labelled with its inputs. The
// tarball is copied in, not baked into the root, so that it never sits in
// a lower layer.
func (b *builder) preload(ctx context.Context, stage, components, inputs string) (string, error) {
	name := fmt.Sprintf("netpolcheck-nodeimage-preload-%d", time.Now().UnixNano())
	runCtx := func(ctx context.Context, args ...string) (string, error) {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil {
			return out.String(), fmt.Errorf("docker %s: %w: %s", args[0], err, lastLines(out.String(), 15))
		}
		return out.String(), nil
	}
	run := func(args ...string) (string, error) { return runCtx(ctx, args...) }
	if _, err := run("run", "-d", "--name", name, "--entrypoint", "sleep", "--security-opt", "seccomp=unconfined", "--network", "none", stage, "infinity"); err != nil {
		return "", err
	}
	defer func() {
		// Also when ctx was cancelled: leave no container or stage behind.
		_, _ = runCtx(context.Background(), "rm", "-f", name)
		_, _ = runCtx(context.Background(), "rmi", stage)
	}()
	if _, err := run("cp", components, name+":/kind/preload.tar"); err != nil {
		return "", err
	}
	listed, err := run("exec", name, "sh", "-c", preloadScript)
	if err != nil {
		return "", err
	}
	imported := 0
	for _, l := range strings.Split(listed, "\n") {
		if strings.HasPrefix(l, "registry.k8s.io/") {
			imported++
		}
	}
	if want := len(b.versions.componentImages()); imported < want {
		return "", fmt.Errorf("containerd in the node lists %d of %d images:\n%s", imported, want, listed)
	}
	previous, err := run("image", "inspect", "-f", "{{.Id}}", b.image)
	if err != nil {
		previous = "" // no image of that name yet
	}
	args := []string{"commit"}
	for _, c := range append(nodeChanges, "LABEL "+inputsLabel+"="+inputs) {
		args = append(args, "--change", c)
	}
	if _, err := run(append(args, name, b.image)...); err != nil {
		return "", err
	}
	// The image this one replaces is untagged now; drop it unless a
	// container (a running cluster's node) still uses it.
	if previous = strings.TrimSpace(previous); previous != "" {
		_, _ = run("image", "rm", previous)
	}
	return fmt.Sprintf("%d images in containerd's k8s.io namespace; committed %s", imported, b.image), nil
}
