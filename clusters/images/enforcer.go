package images

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// EnforcerImageName is the reference enforcer image's default name.
const EnforcerImageName = "netpolcheck/enforcer:dev"

// EnforcerBinaryPath is where the enforcer binary sits in its image.
const EnforcerBinaryPath = "/enforcer"

// EnforcerPackages are the Debian packages whose dependency closure forms the
// enforcer's root filesystem: the iptables binaries (legacy and nft) and
// their libraries.
var EnforcerPackages = []string{"iptables"}

// iptablesAlternatives are the links Debian's update-alternatives would make
// (dpkg -x runs no maintainer scripts); nft is Debian's default. The enforcer
// itself calls the -legacy or -nft binaries once it has detected the
// host's backend, and the plain names only when neither holds rules.
var iptablesAlternatives = []string{
	"iptables", "iptables-restore", "iptables-save",
	"ip6tables", "ip6tables-restore", "ip6tables-save",
}

// DebianClosure lists the packages the given ones depend on, recursively
// (Depends and Pre-Depends only), themselves included, sorted.
func DebianClosure(ctx context.Context, arch string, packages ...string) ([]string, error) {
	args := []string{"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
		"--no-breaks", "--no-replaces", "--no-enhances"}
	for _, p := range packages {
		args = append(args, p+":"+arch)
	}
	out, err := exec.CommandContext(ctx, "apt-cache", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache depends %s: %w", strings.Join(packages, " "), commandError(err))
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		// Package names start a line; indented lines are relations and
		// <name> lines are virtual packages (provided by a listed one).
		if line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "<") {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		seen[name] = true
	}
	var closure []string
	for name := range seen {
		closure = append(closure, name)
	}
	sort.Strings(closure)
	if len(closure) == 0 {
		return nil, fmt.Errorf("apt-cache depends %s: no packages (run apt-get update?)", strings.Join(packages, " "))
	}
	return closure, nil
}

// DebianRootfs downloads the dependency closure of packages with apt-get
// download into debDir (reusing .deb files already there) and unpacks each
// into rootfs with dpkg -x. No maintainer script runs.
func DebianRootfs(ctx context.Context, debDir, rootfs, arch string, packages ...string) error {
	closure, err := DebianClosure(ctx, arch, packages...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(debDir, 0o755); err != nil {
		return err
	}
	var missing []string
	for _, p := range closure {
		if debFor(debDir, p, arch) == "" {
			missing = append(missing, p+":"+arch)
		}
	}
	if len(missing) > 0 {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-q"}, missing...)...)
		cmd.Dir = debDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get download %s: %w: %s", strings.Join(missing, " "), err, strings.TrimSpace(string(out)))
		}
	}
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	for _, p := range closure {
		deb := debFor(debDir, p, arch)
		if deb == "" {
			return fmt.Errorf("package %s: no .deb in %s after apt-get download", p, debDir)
		}
		if out, err := exec.CommandContext(ctx, "dpkg", "-x", deb, rootfs).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg -x %s: %w: %s", deb, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// debFor finds name_<version>_<arch|all>.deb in dir ("" if none).
func debFor(dir, name, arch string) string {
	for _, a := range []string{arch, "all"} {
		matches, _ := filepath.Glob(filepath.Join(dir, name+"_*_"+a+".deb"))
		if len(matches) > 0 {
			sort.Strings(matches)
			return matches[len(matches)-1]
		}
	}
	return ""
}

// EnforcerRootfs builds the enforcer's root filesystem in rootfs: the
// iptables closure from Debian packages plus the alternatives links.
func EnforcerRootfs(ctx context.Context, debDir, rootfs, arch string) error {
	if err := DebianRootfs(ctx, debDir, rootfs, arch, EnforcerPackages...); err != nil {
		return err
	}
	sbin := filepath.Join(rootfs, "usr", "sbin")
	if _, err := os.Stat(filepath.Join(sbin, "xtables-nft-multi")); err != nil {
		return fmt.Errorf("enforcer rootfs: xtables-nft-multi missing after unpacking: %w", err)
	}
	// iptables-legacy takes /run/xtables.lock (mounted from the host in the
	// DaemonSet; created here when the image runs on its own).
	for _, dir := range []string{"run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, dir), 0o755); err != nil {
			return fmt.Errorf("enforcer rootfs: %w", err)
		}
	}
	for _, name := range iptablesAlternatives {
		link := filepath.Join(sbin, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink("xtables-nft-multi", link); err != nil {
			return fmt.Errorf("enforcer rootfs: %w", err)
		}
	}
	return nil
}

var enforcerLabels = map[string]string{
	"org.opencontainers.image.title":       "netpolcheck reference enforcer",
	"org.opencontainers.image.description": "reference iptables NetworkPolicy enforcer; iptables from Debian packages",
	"org.opencontainers.image.source":      "https://github.com/netpolcheck/netpolcheck",
	"io.netpolcheck.enforcer.capabilities": "NET_ADMIN and NET_RAW, hostNetwork, /run/xtables.lock from the host",
}

// EnforcerImage describes the enforcer image: the rootfs tree (see
// EnforcerRootfs) plus the static binary at /enforcer as entrypoint.
func EnforcerImage(binaryPath, rootfs string, opts ...Option) (*Image, error) {
	if _, err := os.Stat(binaryPath); err != nil {
		return nil, fmt.Errorf("enforcer binary: %w", err)
	}
	base := []Option{
		WithDirectory(rootfs, "/"),
		WithFiles(File{Path: EnforcerBinaryPath, Source: binaryPath, Mode: 0o755}),
		WithEntrypoint(EnforcerBinaryPath),
		WithEnv("PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
		WithLabels(enforcerLabels),
	}
	return New(EnforcerImageName, append(base, opts...)...)
}

// WriteEnforcerImage does everything: builds cmd/enforcer from the module in
// the current directory, the Debian rootfs (in workDir, where .deb files are
// cached between runs) and writes the image tarball to out.
func WriteEnforcerImage(ctx context.Context, workDir, out string, opts ...Option) error {
	moduleDir, err := ModuleDir(ctx)
	if err != nil {
		return err
	}
	arch := runtime.GOARCH
	binary := filepath.Join(workDir, "enforcer")
	if err := BuildStaticBinary(ctx, moduleDir, arch, "./cmd/enforcer", binary); err != nil {
		return err
	}
	rootfs := filepath.Join(workDir, "rootfs")
	if err := os.RemoveAll(rootfs); err != nil {
		return err
	}
	if err := EnforcerRootfs(ctx, filepath.Join(workDir, "debs"), rootfs, arch); err != nil {
		return err
	}
	img, err := EnforcerImage(binary, rootfs, opts...)
	if err != nil {
		return err
	}
	return Write(out, img)
}

func commandError(err error) error {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
