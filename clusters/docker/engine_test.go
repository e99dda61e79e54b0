package docker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters/images"
)

// needEngine skips unless this test can find or start a Docker engine.
func needEngine(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client")
	}
	if !Answers(context.Background()) {
		if _, err := os.Stat(DefaultDockerd); err != nil {
			t.Skip("no engine answers and no dockerd to start")
		}
	}
}

// TestEngineRunsScratchImage starts the engine (or finds one), loads an
// image built FROM scratch with no registry, runs it plain and privileged
// (which needs the CAP_SYS_RESOURCE shim on hosts that lack it), runs a
// privileged exec, and stops the engine if the test started it.
func TestEngineRunsScratchImage(t *testing.T) {
	needEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e, err := Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(context.Background()); err != nil {
			t.Error(err)
		}
		if e.Started() && Answers(context.Background()) {
			t.Error("engine still answers after Stop")
		}
	})
	lacks, err := boundingSetLacks(capSysResource)
	if err != nil {
		t.Fatal(err)
	}
	if e.Started() && e.Shimmed() != lacks {
		t.Errorf("Shimmed() = %v, want %v (bounding set lacks CAP_SYS_RESOURCE: %v)", e.Shimmed(), lacks, lacks)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	// With an argument it stays up, for exec.
	prog := "package main\n\nimport (\"fmt\"; \"os\"; \"time\")\n\nfunc main() { fmt.Println(\"hello from scratch\", len(os.Args)); if len(os.Args) > 1 { time.Sleep(time.Hour) } }\n"
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const ref = "netpolcheck-test/hello:engine"
	img, err := images.New(ref, images.WithFiles(images.File{Path: "/hello", Source: bin, Mode: 0o755}), images.WithEntrypoint("/hello"))
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, "hello.tar")
	if err := images.Write(tarball, img); err != nil {
		t.Fatal(err)
	}
	docker := func(args ...string) string {
		t.Helper()
		out, err := dockerOutput(ctx, args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	docker("load", "-i", tarball)
	t.Cleanup(func() { _, _ = dockerOutput(context.Background(), "rmi", "-f", ref) })

	if out := docker("run", "--rm", ref); !strings.Contains(out, "hello from scratch 1") {
		t.Errorf("docker run: got %q", out)
	}
	if out := docker("run", "--rm", "--privileged", ref); !strings.Contains(out, "hello from scratch 1") {
		t.Errorf("docker run --privileged: got %q", out)
	}
	name := "netpolcheck-test-engine"
	_, _ = dockerOutput(ctx, "rm", "-f", name)
	docker("run", "-d", "--name", name, "--privileged", ref, "wait")
	t.Cleanup(func() { _, _ = dockerOutput(context.Background(), "rm", "-f", name) })
	if out := docker("exec", "--privileged", name, "/hello"); !strings.Contains(out, "hello from scratch 1") {
		t.Errorf("docker exec --privileged: got %q", out)
	}
}

func TestBoundingSetReadsThisProcess(t *testing.T) {
	// CAP_CHOWN (0) is in every bounding set a test runs with.
	lacks, err := boundingSetLacks(0)
	if err != nil {
		t.Fatal(err)
	}
	if lacks {
		t.Error("bounding set lacks CAP_CHOWN; parsing is wrong")
	}
}
