package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// inputsLabel on the node image holds the digest of everything it was built
// from; an image whose label matches is not rebuilt.
const inputsLabel = "io.netpolcheck.nodeimage.inputs"

// Result says what Build produced.
type Result struct {
	// Image is the node image's name.
	Image string
	// Inputs is the digest of the build inputs the image carries.
	Inputs string
	// Cached is true when the image was already there and nothing was built.
	Cached bool
	// Size is the image's size in bytes as the engine reports it.
	Size int64
}

// Option adjusts a build.
type Option func(*builder)

// WithImage names the node image (default DefaultImage).
func WithImage(name string) Option { return func(b *builder) { b.image = name } }

// WithCacheDir sets where binaries, root filesystems and tarballs are kept
// (default DefaultCacheDir).
func WithCacheDir(dir string) Option { return func(b *builder) { b.cacheDir = dir } }

// WithSourceDir is the netpolcheck repository holding clusters/nodeimage
// (default: the main module of the working directory).
func WithSourceDir(dir string) Option { return func(b *builder) { b.sourceDir = dir } }

// WithMirror sets the Debian mirror (default DefaultMirror).
func WithMirror(url string) Option { return func(b *builder) { b.mirror = url } }

// WithVersions overrides what goes into the image (default
// DefaultVersions); the tools modules must pin the same.
func WithVersions(v Versions) Option { return func(b *builder) { b.versions = v } }

// WithForce rebuilds the image even when one with the same inputs exists;
// cached binaries and root filesystems are still reused.
func WithForce(force bool) Option { return func(b *builder) { b.force = force } }

// WithProgress receives one line per phase with its duration (default:
// discarded).
func WithProgress(w io.Writer) Option { return func(b *builder) { b.progress = w } }

// WithLogger receives details (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(b *builder) { b.logger = l } }

type builder struct {
	image, cacheDir, sourceDir, mirror string
	versions                           Versions
	force                              bool
	progress                           io.Writer
	logger                             *slog.Logger
	goVersion                          string
	mu                                 sync.Mutex // serialises progress lines
}

// Build makes the node image and returns its name. A Docker engine must
// answer (see package docker). Needs root, debootstrap, tar and the go
// command; reaches only the Go module proxy and the Debian mirror.
func Build(ctx context.Context, opts ...Option) (Result, error) {
	b := &builder{
		image: DefaultImage, cacheDir: DefaultCacheDir, mirror: DefaultMirror,
		versions: DefaultVersions, progress: io.Discard, logger: provider.Discard(),
	}
	for _, o := range opts {
		o(b)
	}
	if os.Geteuid() != 0 {
		return Result{}, errors.New("building a node image needs root (debootstrap, chroot, docker)")
	}
	for _, bin := range []string{"go", "debootstrap", "tar", "docker", "unshare", "chroot", "cp"} {
		if _, err := exec.LookPath(bin); err != nil {
			return Result{}, fmt.Errorf("building a node image needs %s: %w", bin, err)
		}
	}
	if b.sourceDir == "" {
		dir, err := mainModuleDir(ctx)
		if err != nil {
			return Result{}, err
		}
		b.sourceDir = dir
	}
	gv, err := output(ctx, "", "go", "env", "GOVERSION")
	if err != nil {
		return Result{}, err
	}
	b.goVersion = strings.TrimSpace(gv)
	return b.build(ctx)
}

func (b *builder) build(ctx context.Context) (Result, error) {
	res := Result{Image: b.image}
	var kind kindFiles
	err := b.phase("inputs", func() (string, error) {
		var err error
		if kind, err = findKindFiles(ctx, b.versions.Kind); err != nil {
			return "", err
		}
		res.Inputs, err = b.inputs(kind)
		if err != nil {
			return "", err
		}
		have, size := b.imageInputs(ctx)
		if have == res.Inputs && !b.force {
			res.Cached, res.Size = true, size
			return fmt.Sprintf("%s is up to date (inputs %s)", b.image, short(res.Inputs)), nil
		}
		if have != "" {
			return fmt.Sprintf("inputs %s; %s has %s: rebuilding", short(res.Inputs), b.image, short(have)), nil
		}
		return fmt.Sprintf("inputs %s; no %s yet", short(res.Inputs), b.image), nil
	})
	if err != nil || res.Cached {
		return res, err
	}

	// Compiling is CPU-bound and debootstrap mostly waits on the mirror and
	// dpkg: run them side by side.
	var (
		wg                sync.WaitGroup
		bins              map[string]string
		nodeBase, kpBase  string
		binErr, rootfsErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		binErr = b.phase("binaries", func() (note string, err error) {
			bins, note, err = b.buildTools(ctx)
			return note, err
		})
	}()
	go func() {
		defer wg.Done()
		rootfsErr = b.phase("debootstrap", func() (note string, err error) {
			nodeBase, kpBase, note, err = b.debootstrapAll(ctx)
			return note, err
		})
	}()
	wg.Wait()
	if err := errors.Join(binErr, rootfsErr); err != nil {
		return res, err
	}

	var components string
	if err := b.phase("images", func() (note string, err error) {
		components, note, err = b.componentImages(ctx, bins, kpBase)
		return note, err
	}); err != nil {
		return res, err
	}
	var work string
	if err := b.phase("node-root", func() (note string, err error) {
		work, note, err = b.nodeRoot(ctx, nodeBase, kind, bins)
		return note, err
	}); err != nil {
		return res, err
	}
	defer os.RemoveAll(work)
	stage := b.image + "-stage"
	if err := b.phase("import", func() (string, error) { return b.importRoot(ctx, work, stage) }); err != nil {
		return res, err
	}
	if err := b.phase("preload", func() (string, error) { return b.preload(ctx, stage, components, res.Inputs) }); err != nil {
		return res, err
	}
	_, res.Size = b.imageInputs(ctx)
	return res, nil
}

// inputs is the digest of everything the image is built from.
func (b *builder) inputs(kind kindFiles) (string, error) {
	parts := []string{recipeDigest(), b.goVersion, b.mirror, fmt.Sprintf("%+v", b.versions), kind.sum}
	for _, t := range b.versions.tools() {
		dir := filepath.Join(b.sourceDir, "clusters", "nodeimage", "tools", t.dir)
		d, err := filesDigest(filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum"))
		if err != nil {
			return "", fmt.Errorf("tools module %s: %w", t.dir, err)
		}
		parts = append(parts, t.dir, d)
	}
	pause, err := fileDigest(filepath.Join(b.sourceDir, "clusters", "nodeimage", "cmd", "pause", "main.go"))
	if err != nil {
		return "", fmt.Errorf("pause source: %w", err)
	}
	return digest(append(parts, pause)...), nil
}

// imageInputs reads the inputs label and size of the node image, if any.
func (b *builder) imageInputs(ctx context.Context) (string, int64) {
	out, err := output(ctx, "", "docker", "image", "inspect", "-f", `{{index .Config.Labels "`+inputsLabel+`"}} {{.Size}}`, b.image)
	if err != nil {
		return "", 0
	}
	var label string
	var size int64
	fmt.Sscan(out, &label, &size)
	return label, size
}

// phase runs one step and prints its line: name, duration, note.
func (b *builder) phase(name string, f func() (string, error)) error {
	start := time.Now()
	note, err := f()
	took := roundDuration(time.Since(start))
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		fmt.Fprintf(b.progress, "nodeimage: %-11s %8s  failed: %v\n", name, took, err)
		return fmt.Errorf("node image, %s: %w", name, err)
	}
	fmt.Fprintf(b.progress, "nodeimage: %-11s %8s  %s\n", name, took, note)
	return nil
}

func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func mainModuleDir(ctx context.Context) (string, error) {
	out, err := output(ctx, "", "go", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(out)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the netpolcheck module; run from the repository or pass WithSourceDir")
	}
	dir := filepath.Dir(gomod)
	if _, err := os.Stat(filepath.Join(dir, "clusters", "nodeimage", "tools")); err != nil {
		return "", fmt.Errorf("%s does not hold clusters/nodeimage/tools: run from the netpolcheck repository", dir)
	}
	return dir, nil
}

// output runs a command and returns its stdout; the error carries stderr.
func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderrOf(err))
	}
	return string(out), nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return lastLines(string(ee.Stderr), 20)
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
