package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
)

// Defaults for an engine this package starts.
const (
	// DefaultDataRoot holds the images and containers of the engine.
	DefaultDataRoot = "/var/lib/netpolcheck/docker"
	// DefaultStateDir holds the engine's pid file, log and runtime shim.
	DefaultStateDir = "/var/lib/netpolcheck/dockerd"
	// DefaultDockerd is Debian's docker.io daemon.
	DefaultDockerd = "/usr/sbin/dockerd"
	// DefaultRunc is Debian's runc, which the shim wraps.
	DefaultRunc = "/usr/sbin/runc"
)

// shimRuntime is the name the shim is registered under in dockerd.
const shimRuntime = "netpolcheck-runc"

// Engine is a Docker engine that answers on this machine.
type Engine struct {
	cfg     config
	started bool
	pid     int
	shim    bool
}

// Started reports whether Ensure started the engine (rather than finding
// one running).
func (e *Engine) Started() bool { return e.started }

// Shimmed reports whether the engine Ensure started runs containers through
// the runtime shim that drops CAP_SYS_RESOURCE.
func (e *Engine) Shimmed() bool { return e.shim }

// Option adjusts how Ensure and Stop find or start the engine.
type Option func(*config)

type config struct {
	dataRoot, stateDir string
	dockerd, runc      string
	timeout            time.Duration
	logger             *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{
		dataRoot: DefaultDataRoot, stateDir: DefaultStateDir,
		dockerd: DefaultDockerd, runc: DefaultRunc,
		timeout: 60 * time.Second, logger: provider.Discard(),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithDataRoot sets dockerd's --data-root (default DefaultDataRoot).
func WithDataRoot(dir string) Option { return func(c *config) { c.dataRoot = dir } }

// WithStateDir sets where the pid file, the log and the shim go (default
// DefaultStateDir).
func WithStateDir(dir string) Option { return func(c *config) { c.stateDir = dir } }

// WithDockerd sets the dockerd binary (default DefaultDockerd).
func WithDockerd(path string) Option { return func(c *config) { c.dockerd = path } }

// WithRunc sets the runc binary the shim runs (default DefaultRunc).
func WithRunc(path string) Option { return func(c *config) { c.runc = path } }

// WithTimeout bounds how long Ensure waits for a started engine to answer
// and Stop for it to exit (default 60s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithLogger receives progress (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

func (c config) pidFile() string  { return filepath.Join(c.stateDir, "dockerd.pid") }
func (c config) logFile() string  { return filepath.Join(c.stateDir, "dockerd.log") }
func (c config) shimFile() string { return filepath.Join(c.stateDir, "runc-shim") }

// Answers reports whether the docker client reaches a daemon.
func Answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run() == nil
}

// Ensure returns an engine that answers. When the docker client already
// reaches a daemon, that daemon is left alone. Otherwise dockerd is started
// in the background with its own data root, logging to a file, and, when
// this host's capability bounding set lacks CAP_SYS_RESOURCE, with a runtime
// shim as the default runtime that drops it from every container's
// capabilities (dockerd 20.10 otherwise fails privileged containers with
// "unable to apply caps"). The engine outlives this process; Stop ends it.
func Ensure(ctx context.Context, opts ...Option) (*Engine, error) {
	cfg := newConfig(opts)
	if Answers(ctx) {
		cfg.logger.Info("docker engine already answers; leaving it alone")
		return &Engine{cfg: cfg}, nil
	}
	if _, err := os.Stat(cfg.dockerd); err != nil {
		return nil, fmt.Errorf("no docker engine answers and %s is missing (apt-get install docker.io): %w", cfg.dockerd, err)
	}
	for _, dir := range []string{cfg.dataRoot, cfg.stateDir} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("starting dockerd: %w", err)
		}
	}
	args := []string{"--data-root", cfg.dataRoot, "--pidfile", cfg.pidFile()}
	e := &Engine{cfg: cfg, started: true}
	lacks, err := boundingSetLacks(capSysResource)
	if err != nil {
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	if lacks {
		if _, err := exec.LookPath("jq"); err != nil {
			return nil, fmt.Errorf("starting dockerd: the runtime shim needs jq (apt-get install jq): %w", err)
		}
		if err := os.WriteFile(cfg.shimFile(), []byte(shimScript(cfg.runc)), 0o755); err != nil {
			return nil, fmt.Errorf("starting dockerd: writing the runtime shim: %w", err)
		}
		args = append(args, "--add-runtime", shimRuntime+"="+cfg.shimFile(), "--default-runtime", shimRuntime)
		e.shim = true
	}
	logf, err := os.OpenFile(cfg.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	defer logf.Close()
	// Not CommandContext: the engine must outlive this call and this process.
	cmd := exec.Command(cfg.dockerd, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.dockerd, err)
	}
	e.pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	cfg.logger.Info("starting dockerd", "pid", e.pid, "dataRoot", cfg.dataRoot, "log", cfg.logFile(), "shim", e.shim)

	deadline := time.NewTimer(cfg.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("dockerd exited while starting (%v); see %s:\n%s", err, cfg.logFile(), tail(cfg.logFile(), 10))
		case <-ctx.Done():
			_ = stopPid(context.Background(), e.pid, cfg.timeout)
			return nil, fmt.Errorf("waiting for dockerd: %w", ctx.Err())
		case <-deadline.C:
			_ = stopPid(context.Background(), e.pid, cfg.timeout)
			return nil, fmt.Errorf("dockerd did not answer within %v; see %s:\n%s", cfg.timeout, cfg.logFile(), tail(cfg.logFile(), 10))
		case <-tick.C:
			if Answers(ctx) {
				cfg.logger.Info("dockerd answers", "after", time.Since(start).Round(time.Millisecond))
				return e, nil
			}
		}
	}
}

// Stop ends the engine if Ensure started it; an engine found running is
// left alone.
func (e *Engine) Stop(ctx context.Context) error {
	if !e.started {
		return nil
	}
	return stopPid(ctx, e.pid, e.cfg.timeout)
}

// Stop ends an engine that Ensure started earlier, possibly in another
// process, as recorded in the state directory's pid file. It does nothing
// when there is no such engine, and refuses to signal a process that is not
// that dockerd.
func Stop(ctx context.Context, opts ...Option) error {
	cfg := newConfig(opts)
	b, err := os.ReadFile(cfg.pidFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stopping dockerd: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("stopping dockerd: bad pid file %s: %q", cfg.pidFile(), b)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil // not running any more
	}
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if filepath.Base(argv[0]) != "dockerd" || !contains(argv, cfg.dataRoot) {
		return fmt.Errorf("stopping dockerd: pid %d from %s is %q, not the dockerd with data root %s; not signalling it",
			pid, cfg.pidFile(), strings.Join(argv, " "), cfg.dataRoot)
	}
	cfg.logger.Info("stopping dockerd", "pid", pid)
	return stopPid(ctx, pid, cfg.timeout)
}

// stopPid sends SIGTERM and waits until the process is gone; dockerd stops
// its containers and containerd first. After timeout it sends SIGKILL.
func stopPid(ctx context.Context, pid int, timeout time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stopping dockerd (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		if !alive(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("dockerd (pid %d) did not stop within %v; killed it", pid, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopping dockerd (pid %d): %w", pid, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// tail returns the last n lines of a file, for error messages.
func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
