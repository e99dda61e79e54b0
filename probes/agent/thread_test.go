package agent_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// onThread runs fn on an OS thread of its own that has entered network
// namespace ns and then applied restrict (nil: nothing), and returns fn's
// error. Sockets fn opens belong to ns. The goroutine ends still locked to
// its thread, so the Go runtime discards the thread instead of reusing it
// with the namespace, capabilities or seccomp filter that fn ran under.
func onThread(t *testing.T, ns string, restrict func() error, fn func() error) error {
	t.Helper()
	type result struct{ err, setupErr error }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if err := enterNetNS(ns); err != nil {
			done <- result{setupErr: err}
			return
		}
		if restrict != nil {
			if err := restrict(); err != nil {
				done <- result{setupErr: err}
				return
			}
		}
		done <- result{err: fn()}
	}()
	r := <-done
	if r.setupErr != nil {
		t.Fatalf("preparing a thread in %s: %v", ns, r.setupErr)
	}
	return r.err
}

func enterNetNS(ns string) error {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	return nil
}

// withoutCapability removes capability c from the thread's effective,
// permitted and inheritable sets, so the thread cannot raise it again (as
// withNetRaw would): the probe lacks it, as in a container without it.
func withoutCapability(c uint) func() error {
	return func() error {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capget: %w", err)
		}
		bit := uint32(1) << (c % 32)
		d := &data[c/32]
		d.Effective &^= bit
		d.Permitted &^= bit
		d.Inheritable &^= bit
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("capset: %w", err)
		}
		return nil
	}
}

// withSeccompDenying installs a seccomp filter on the thread that fails the
// system call nr with errno, as a container runtime's seccomp profile does.
// The filter compares syscall numbers of the running architecture only: a
// Go test binary makes no others.
func withSeccompDenying(nr uintptr, errno unix.Errno) func() error {
	return func() error {
		filter := []unix.SockFilter{
			{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
			{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(nr), Jt: 0, Jf: 1},
			{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
			{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		}
		prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
		// Without a thread-sync flag the filter applies to this thread only.
		if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_SECCOMP): %w", err)
		}
		return nil
	}
}
