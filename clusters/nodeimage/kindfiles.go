package nodeimage

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kindFiles is images/base/files of one kind release, in the module cache:
// the node's entrypoint, helper scripts, systemd units and small configs.
// They are copied into the node at build time and never committed here.
type kindFiles struct {
	dir string // .../sigs.k8s.io/kind@VERSION/images/base/files
	sum string // the module's go.sum hash: what the copies come from
}

// kindFilesSkipped are base files this node replaces: its own containerd
// configuration (Debian's containerd 1.6, restrict_oom_score_adj), and the
// fuse-overlayfs snapshotter unit, whose binary the node does not carry.
var kindFilesSkipped = map[string]bool{
	"etc/containerd/config.toml":                           true,
	"etc/systemd/system/containerd-fuse-overlayfs.service": true,
}

// findKindFiles downloads (or finds) kind's module through the module proxy.
func findKindFiles(ctx context.Context, version string) (kindFiles, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "sigs.k8s.io/kind@"+version)
	cmd.Dir = os.TempDir() // a module query, independent of any go.mod
	out, err := cmd.Output()
	var m struct{ Dir, Sum, Error string }
	if jerr := json.Unmarshal(out, &m); jerr != nil && err == nil {
		err = jerr
	}
	if m.Error != "" || err != nil {
		return kindFiles{}, fmt.Errorf("go mod download sigs.k8s.io/kind@%s: %v %s %s", version, err, m.Error, stderrOf(err))
	}
	dir := filepath.Join(m.Dir, "images", "base", "files")
	if _, err := os.Stat(filepath.Join(dir, "usr", "local", "bin", "entrypoint")); err != nil {
		return kindFiles{}, fmt.Errorf("kind %s has no base files at %s: %w", version, dir, err)
	}
	return kindFiles{dir: dir, sum: m.Sum}, nil
}

// copyInto copies the base files into root with the modes kind's Dockerfile
// gives them: executables under usr/local/bin and kind/bin, 0644 for the
// rest, 0755 directories. It returns how many files it copied.
func (k kindFiles) copyInto(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(k.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(k.dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() || kindFilesSkipped[rel] || !d.Type().IsRegular() {
			return nil // writeFile makes the directories
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := writeFile(root, rel, data, mode); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("copying kind's base files: %w", err)
	}
	return n, nil
}

// writeFile replaces root/rel (a file or a symlink) with data and mode,
// making its directories, and refuses to follow a link out of root.
func writeFile(root, rel string, data []byte, mode fs.FileMode) error {
	dst, err := inRoot(root, rel)
	if err != nil {
		return err
	}
	if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode) // umask must not narrow it
}

// inRoot joins rel to root and makes sure its parent directory exists and,
// links resolved, is still inside root: a debootstrapped tree has absolute
// symlinks that would otherwise point into this machine's own files.
func inRoot(root, rel string) (string, error) {
	dst := filepath.Join(root, rel)
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	// Check the deepest directory that exists; what MkdirAll adds below it
	// stays where it is.
	existing := filepath.Dir(dst)
	for len(existing) > len(root) {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		existing = filepath.Dir(existing)
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", err
	}
	if real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator)) {
		return "", fmt.Errorf("%s leads out of the node root (to %s)", rel, real)
	}
	return dst, os.MkdirAll(filepath.Dir(dst), 0o755)
}
