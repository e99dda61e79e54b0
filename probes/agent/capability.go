package agent

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// withNetRaw runs open (which creates a raw socket) with CAP_NET_RAW in the
// calling thread's effective set, if the thread has it permitted but not
// effective. That is how the probe image runs as a non-root user: its
// binary carries the file capability cap_net_raw in the permitted set only
// (no effective bit, so exec still works where NET_RAW is not granted),
// and the agent raises it just for the socket call. The kernel checks the
// capability when the socket is created, not when it is used.
func withNetRaw(open func() error) error {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	bit := uint32(1) << unix.CAP_NET_RAW
	if err := unix.Capget(&hdr, &data[0]); err != nil ||
		data[0].Effective&bit != 0 || data[0].Permitted&bit == 0 {
		runtime.UnlockOSThread()
		return open()
	}
	data[0].Effective |= bit
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		runtime.UnlockOSThread()
		return open()
	}
	err := open()
	data[0].Effective &^= bit
	if unix.Capset(&hdr, &data[0]) == nil {
		runtime.UnlockOSThread()
	}
	// Otherwise the thread keeps the capability: leave it locked, so the
	// runtime ends it with this goroutine instead of reusing it.
	return err
}
