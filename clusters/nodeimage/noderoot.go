package nodeimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// nodeRoot copies the pristine base root to a work directory and turns it
// into a kind node: kind's base files, systemd trimmed and set up as kind's
// base image does, Debian's runtime where kind expects it, the containerd
// configuration, the Kubernetes node binaries and /kind/version.
func (b *builder) nodeRoot(ctx context.Context, base string, kind kindFiles, bins map[string]string) (string, string, error) {
	work := filepath.Join(b.cacheDir, "work", "node-root")
	if err := os.RemoveAll(work); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(work), 0o755); err != nil {
		return "", "", err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", base, work).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("copying the base root: %w: %s", err, out)
	}
	n, err := kind.copyInto(work)
	if err != nil {
		return work, "", err
	}
	if err := b.configureRoot(ctx, work, bins); err != nil {
		return work, "", err
	}
	return work, fmt.Sprintf("%d kind base files, %s", n, duSize(work)), nil
}

func (b *builder) configureRoot(ctx context.Context, root string, bins map[string]string) error {
	// Units kind's base image removes: none of them belongs in a node.
	for _, pattern := range []string{
		"usr/lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
		"usr/lib/systemd/system/multi-user.target.wants/*",
		"etc/systemd/system/*.wants/*",
		"usr/lib/systemd/system/local-fs.target.wants/*",
		"usr/lib/systemd/system/sockets.target.wants/*udev*",
		"usr/lib/systemd/system/sockets.target.wants/*initctl*",
		"usr/lib/systemd/system/basic.target.wants/*",
	} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	journald := filepath.Join(root, "etc/systemd/journald.conf")
	conf, err := os.ReadFile(journald)
	if err != nil {
		return err
	}
	if !strings.Contains(string(conf), "\nReadKMsg=no") {
		if err := os.WriteFile(journald, append(conf, []byte("ReadKMsg=no\n")...), 0o644); err != nil {
			return err
		}
	}
	links := [][2]string{
		{"usr/sbin/init", "/usr/lib/systemd/systemd"},
		// kind's containerd unit runs /usr/local/bin/containerd; Debian's
		// package installs /usr/bin/containerd.
		{"usr/local/bin/containerd", "/usr/bin/containerd"},
		// Where CNI plugins are usually looked for; Debian's are in
		// /usr/lib/cni (also bin_dir in the containerd config).
		{"opt/cni/bin", "/usr/lib/cni"},
	}
	for _, l := range links {
		if err := symlink(root, l[0], l[1]); err != nil {
			return err
		}
	}
	for _, dir := range []string{"etc/kubernetes/manifests", "etc/cni/net.d", "var/lib/kubelet"} {
		if _, err := inRoot(root, dir+"/x"); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/containerd/config.toml": containerdConfig(b.versions),
		"kind/version":               b.versions.Kubernetes + "\n",
	}
	for rel, content := range files {
		if err := writeFile(root, rel, []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, c := range []string{"kubeadm", "kubelet", "kubectl"} {
		data, err := os.ReadFile(bins[c])
		if err != nil {
			return err
		}
		if err := writeFile(root, "usr/bin/"+c, data, 0o755); err != nil {
			return err
		}
	}
	spec, err := criBaseSpec(ctx, root)
	if err != nil {
		return err
	}
	if err := writeFile(root, "etc/containerd/cri-base.json", spec, 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"systemctl", "enable", "kubelet.service", "containerd.service", "undo-mount-hacks.service"},
		{"systemctl", "mask", "systemd-binfmt.service"},
	} {
		cmd := exec.CommandContext(ctx, "chroot", append([]string{root}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chroot %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// symlink makes root/rel a link to target (a path inside the node).
func symlink(root, rel, target string) error {
	dst, err := inRoot(root, rel)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Symlink(target, dst)
}
