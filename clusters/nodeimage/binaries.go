package nodeimage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// goFlags keep a cold build of Kubernetes on two cores civil: two compiles
// at a time (memory stays well under 4 GiB), module files never rewritten.
const goFlags = "-buildvcs=false -p=2 -mod=readonly"

// tool is one nested module under tools/ and the programs built from it.
type tool struct {
	dir     string            // directory under tools/
	module  string            // the pinned module, e.g. k8s.io/kubernetes
	version string            // the version it must be pinned at
	cmds    []string          // binary names, in build order
	pkgs    map[string]string // binary name -> package path
	tags    string
	// ldflags returns the link flags; moduleTime is the pinned module's
	// publication time, a reproducible build date.
	ldflags func(moduleTime string) (string, error)
}

func (v Versions) tools() []tool {
	kube := []string{"kube-scheduler", "kube-proxy", "kubectl", "kube-controller-manager", "kube-apiserver", "kubelet", "kubeadm"}
	kpkgs := map[string]string{}
	for _, c := range kube {
		kpkgs[c] = "k8s.io/kubernetes/cmd/" + c
	}
	return []tool{
		{
			dir: "kubernetes", module: "k8s.io/kubernetes", version: v.Kubernetes, cmds: kube, pkgs: kpkgs,
			tags: "selinux,notest,grpcnotrace",
			ldflags: func(moduleTime string) (string, error) {
				major, minor, err := v.majorMinor()
				if err != nil {
					return "", err
				}
				// What hack/lib/version.sh sets; without it every component
				// reports v0.0.0 and kubeadm refuses to work.
				flags := []string{"-s", "-w"}
				for _, pkg := range []string{"k8s.io/client-go/pkg/version", "k8s.io/component-base/version"} {
					for _, kv := range [][2]string{{"gitVersion", v.Kubernetes}, {"gitMajor", major}, {"gitMinor", minor},
						{"gitTreeState", "clean"}, {"buildDate", moduleTime}} {
						flags = append(flags, "-X", pkg+"."+kv[0]+"="+kv[1])
					}
				}
				return strings.Join(flags, " "), nil
			},
		},
		{
			dir: "etcd", module: "go.etcd.io/etcd/server/v3", version: v.Etcd, cmds: []string{"etcd"},
			pkgs:    map[string]string{"etcd": "go.etcd.io/etcd/server/v3"},
			ldflags: func(string) (string, error) { return "-s -w", nil },
		},
		{
			dir: "coredns", module: "github.com/coredns/coredns", version: v.CoreDNS, cmds: []string{"coredns"},
			pkgs:    map[string]string{"coredns": "github.com/coredns/coredns"},
			ldflags: func(string) (string, error) { return "-s -w", nil },
		},
	}
}

// buildTools builds every tool's binaries into the cache, skipping a tool
// whose inputs (its go.mod and go.sum, the Go version, the flags) match what
// its directory was built from. It returns binary name -> path.
func (b *builder) buildTools(ctx context.Context) (map[string]string, string, error) {
	bins := map[string]string{}
	var notes []string
	for _, t := range b.versions.tools() {
		modDir := filepath.Join(b.sourceDir, "clusters", "nodeimage", "tools", t.dir)
		version, moduleTime, err := b.pinned(ctx, modDir, t.module)
		if err != nil {
			return nil, "", err
		}
		if version != t.version {
			return nil, "", fmt.Errorf("%s/go.mod pins %s %s, but the node image wants %s", modDir, t.module, version, t.version)
		}
		ldflags, err := t.ldflags(moduleTime)
		if err != nil {
			return nil, "", err
		}
		inputs, err := filesDigest(filepath.Join(modDir, "go.mod"), filepath.Join(modDir, "go.sum"))
		if err != nil {
			return nil, "", fmt.Errorf("tools module %s: %w", t.dir, err)
		}
		key := digest(inputs, b.goVersion, runtime.GOARCH, t.tags, ldflags, strings.Join(t.cmds, ","))
		outDir := filepath.Join(b.cacheDir, "bin", t.dir+"-"+t.version)
		done := stamp(outDir + ".inputs")
		for _, c := range t.cmds {
			bins[c] = filepath.Join(outDir, c)
		}
		if done.matches(key) && allExist(outDir, t.cmds) {
			notes = append(notes, t.dir+" cached")
			continue
		}
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return nil, "", err
		}
		for _, c := range t.cmds {
			start := time.Now()
			if err := b.goBuild(ctx, modDir, t.tags, ldflags, filepath.Join(outDir, c), t.pkgs[c]); err != nil {
				return nil, "", err
			}
			notes = append(notes, fmt.Sprintf("%s %s", c, roundDuration(time.Since(start))))
			b.logger.Info("built", "binary", c, "took", time.Since(start).Round(time.Second))
		}
		if err := done.write(key); err != nil {
			return nil, "", err
		}
	}
	pause, note, err := b.buildPause(ctx)
	if err != nil {
		return nil, "", err
	}
	bins["pause"] = pause
	notes = append(notes, note)
	return bins, strings.Join(notes, ", "), nil
}

// buildPause builds this repository's pause program.
func (b *builder) buildPause(ctx context.Context) (string, string, error) {
	src := filepath.Join(b.sourceDir, "clusters", "nodeimage", "cmd", "pause", "main.go")
	srcDigest, err := fileDigest(src)
	if err != nil {
		return "", "", fmt.Errorf("pause source: %w", err)
	}
	ldflags := "-s -w -X main.version=" + b.versions.Pause
	key := digest(srcDigest, b.goVersion, runtime.GOARCH, ldflags)
	outDir := filepath.Join(b.cacheDir, "bin", "pause-"+b.versions.Pause)
	done := stamp(outDir + ".inputs")
	out := filepath.Join(outDir, "pause")
	if done.matches(key) && allExist(outDir, []string{"pause"}) {
		return out, "pause cached", nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", "", err
	}
	start := time.Now()
	if err := b.goBuild(ctx, b.sourceDir, "", ldflags, out, "./clusters/nodeimage/cmd/pause"); err != nil {
		return "", "", err
	}
	return out, "pause " + roundDuration(time.Since(start)), done.write(key)
}

// goBuild builds one static binary at a lower CPU priority, so that other
// work on the machine keeps its timing.
func (b *builder) goBuild(ctx context.Context, dir, tags, ldflags, out, pkg string) error {
	args := []string{"-n", "10", "go", "build", "-trimpath"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "-ldflags", ldflags, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "nice", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS="+goFlags)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s (in %s): %w: %s", pkg, dir, err, lastLines(stderr.String(), 20))
	}
	return nil
}

// pinned reports the version and publication time of module as the tools
// module in dir selects it.
func (b *builder) pinned(ctx context.Context, dir, module string) (string, string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-json", module)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+goFlags)
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m %s in %s: %w: %s", module, dir, err, stderrOf(err))
	}
	var m struct {
		Version string
		Time    *time.Time
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return "", "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	t := "1970-01-01T00:00:00Z"
	if m.Time != nil {
		t = m.Time.UTC().Format(time.RFC3339)
	}
	return m.Version, t, nil
}

func allExist(dir string, names []string) bool {
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}
