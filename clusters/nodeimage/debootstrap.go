package nodeimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// nodePackages are kind's base image packages that bookworm has, plus the
// container runtime kind's image builds itself: Debian's containerd 1.6,
// runc and the CNI plugins (ptp, host-local, portmap, loopback).
var nodePackages = []string{
	"systemd", "conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
	"libseccomp2", "pigz", "e2fsprogs", "bash", "ca-certificates", "jq", "procps",
	"containerd", "runc", "containernetworking-plugins",
}

// kubeProxyPackages are what kube-proxy runs besides itself.
var kubeProxyPackages = []string{"iptables", "nftables", "conntrack"}

// trimmed are paths removed from every debootstrapped root: documentation,
// translations and package caches nobody reads in a node.
var trimmed = []string{
	"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
	"var/cache/apt/archives", "var/lib/apt/lists", "var/cache/debconf/templates.dat-old", "var/log",
}

// debootstrapAll makes (or finds) the node's base root directory and the
// kube-proxy image's base layer tarball. Both are cached by suite, mirror
// and package list; the .deb files are shared through a cache directory.
func (b *builder) debootstrapAll(ctx context.Context) (node, kubeProxy, note string, err error) {
	start := time.Now()
	node, cachedNode, err := b.debootstrap(ctx, "node", nodePackages)
	if err != nil {
		return "", "", "", err
	}
	nodeTook := time.Since(start)
	start = time.Now()
	kpDir, cachedKP, err := b.debootstrap(ctx, "kube-proxy-base", kubeProxyPackages)
	if err != nil {
		return "", "", "", err
	}
	kubeProxy = kpDir + ".tar"
	if !cachedKP || !exists(kubeProxy) {
		if err := tarDir(ctx, kpDir, kubeProxy); err != nil {
			return "", "", "", err
		}
	}
	describe := func(name string, cached bool, took time.Duration, dir string) string {
		if cached {
			return name + " cached"
		}
		return fmt.Sprintf("%s %s (%s)", name, roundDuration(took), duSize(dir))
	}
	return node, kubeProxy, describe("node root", cachedNode, nodeTook, node) + ", " +
		describe("kube-proxy base", cachedKP, time.Since(start), kpDir), nil
}

// debootstrap returns a pristine bookworm minbase root with packages,
// building it unless a completed one with the same inputs exists. Callers
// copy it before changing anything.
func (b *builder) debootstrap(ctx context.Context, name string, packages []string) (string, bool, error) {
	key := digest("debootstrap", b.versions.Debian, b.mirror, "minbase", strings.Join(packages, ","), strings.Join(trimmed, ","))
	root := filepath.Join(b.cacheDir, "rootfs", name+"-"+short(key))
	done := stamp(root + ".done")
	if done.matches(key) {
		return root, true, nil
	}
	prune(filepath.Join(b.cacheDir, "rootfs"), name+"-", root)
	if err := os.RemoveAll(root); err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", false, err
	}
	debs := filepath.Join(b.cacheDir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", false, err
	}
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--components=main",
		"--include="+strings.Join(packages, ","), "--cache-dir="+debs,
		b.versions.Debian, root, b.mirror)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	logFile := root + ".log"
	log, err := os.Create(logFile)
	if err != nil {
		return "", false, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("debootstrap %s: %w (log: %s):\n%s", name, err, logFile, tail(logFile, 15))
	}
	for _, p := range trimmed {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			return "", false, err
		}
	}
	for _, p := range []string{"var/cache/apt/archives/partial", "var/lib/apt/lists/partial", "var/log"} {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			return "", false, err
		}
	}
	return root, false, done.write(key)
}

// tarDir writes dir's tree (numeric owners kept) to file, through a
// temporary name so that a reader never sees half of it.
func tarDir(ctx context.Context, dir, file string) error {
	tmp := file + ".partial"
	cmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-cf", tmp, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tar of %s: %w: %s", dir, err, lastLines(string(out), 10))
	}
	return os.Rename(tmp, file)
}

// prune removes the siblings of keep in dir whose names start with prefix:
// entries for inputs no longer wanted.
func prune(dir, prefix, keep string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(p, ".done"), ".log"), ".tar"), ".partial")
		if strings.HasPrefix(e.Name(), prefix) && base != keep {
			os.RemoveAll(p)
		}
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func tail(file string, n int) string {
	b, _ := os.ReadFile(file)
	return lastLines(string(b), n)
}

// duSize is the disk usage of a tree, as du -sh prints it.
func duSize(dir string) string {
	out, err := exec.Command("du", "-sh", dir).Output()
	if err != nil {
		return "?"
	}
	return strings.Fields(string(out))[0]
}
