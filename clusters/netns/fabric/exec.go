package fabric

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
)

// NetNSDir is where named network namespaces live, as with `ip netns`.
const NetNSDir = "/run/netns"

// NetNSPath returns the bind-mount path of a named network namespace.
func NetNSPath(netnsName string) string {
	return filepath.Join(NetNSDir, netnsName)
}

// Command returns a command that runs name with args inside the named network
// namespace (through `ip netns exec`). The caller starts and waits for it.
func Command(ctx context.Context, netnsName string, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", netnsName, name}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// Do runs fn on a goroutine locked to an OS thread that has joined the named
// network namespace. Sockets opened, sysctls written and processes started by
// fn (exec'd children inherit the thread's namespace) belong to that namespace.
// If the thread cannot return to its original namespace it is discarded, so no
// other goroutine ever runs in the wrong namespace.
func Do(netnsName string, fn func() error) error {
	return DoPath(NetNSPath(netnsName), fn)
}

// DoPath is Do for a namespace given by its file path (e.g. /proc/PID/ns/net).
func DoPath(nsPath string, fn func() error) error {
	result := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			// An unlocked thread whose namespace was not restored would be
			// reused by the scheduler; exiting while locked destroys it.
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		original, err := netns.Get()
		if err != nil {
			restored = true
			result <- fmt.Errorf("read current network namespace: %w", err)
			return
		}
		defer original.Close()
		target, err := netns.GetFromPath(nsPath)
		if err != nil {
			restored = true
			result <- fmt.Errorf("open network namespace %s: %w", nsPath, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			restored = true
			result <- fmt.Errorf("enter network namespace %s: %w", nsPath, err)
			return
		}
		fnErr := fn()
		if err := netns.Set(original); err == nil {
			restored = true
		}
		result <- fnErr
	}()
	return <-result
}

// newNamedNetNS creates a network namespace bind-mounted under NetNSDir, the
// way `ip netns add` does, without moving the caller's thread.
func newNamedNetNS(name string) error {
	result := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		original, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			result <- fmt.Errorf("read current network namespace: %w", err)
			return
		}
		defer original.Close()
		created, err := netns.NewNamed(name)
		if err == nil {
			created.Close()
		}
		if setErr := netns.Set(original); setErr == nil {
			runtime.UnlockOSThread()
		}
		if err != nil {
			result <- fmt.Errorf("create network namespace %s: %w", name, err)
			return
		}
		result <- nil
	}()
	return <-result
}
