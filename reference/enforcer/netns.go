package enforcer

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// enterNetNS locks the calling goroutine to its OS thread and moves the
// thread into the namespace at path. The thread is never unlocked: when the
// goroutine returns, the runtime destroys it instead of reusing a thread in a
// foreign namespace. An empty path stays in the current namespace.
func enterNetNS(path string) error {
	runtime.LockOSThread()
	if path == "" {
		return nil
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return fmt.Errorf("enter network namespace %s: %w", path, err)
	}
	return nil
}

// inNetNS runs fn on a fresh goroutine inside the namespace at path.
func inNetNS(path string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		if err := enterNetNS(path); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}
