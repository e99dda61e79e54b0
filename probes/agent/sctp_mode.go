package agent

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// SCTPMode says how the agent speaks SCTP.
type SCTPMode string

const (
	// SCTPAuto uses kernel sockets when the kernel has SCTP, raw otherwise.
	SCTPAuto SCTPMode = "auto"
	// SCTPKernel uses the kernel's SCTP sockets (CONFIG_IP_SCTP).
	SCTPKernel SCTPMode = "kernel"
	// SCTPRaw speaks the INIT / INIT-ACK / ABORT exchange over raw IP
	// sockets (protocol 132), for kernels without SCTP. Needs CAP_NET_RAW.
	SCTPRaw SCTPMode = "raw"
)

// ParseSCTPMode reads auto, kernel or raw.
func ParseSCTPMode(s string) (SCTPMode, error) {
	switch m := SCTPMode(s); m {
	case SCTPAuto, SCTPKernel, SCTPRaw:
		return m, nil
	default:
		return "", fmt.Errorf("SCTP mode %q: want auto, kernel or raw", s)
	}
}

var (
	kernelSCTPOnce   sync.Once
	kernelSCTPExists bool
)

// kernelHasSCTP tries to open a kernel SCTP socket once per process.
func kernelHasSCTP() bool {
	kernelSCTPOnce.Do(func() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
		if err == nil {
			unix.Close(fd)
			kernelSCTPExists = true
			return
		}
		// Any error but "protocol not supported" (EPERM from a seccomp
		// profile, say) still tells us the kernel cannot be used here.
		kernelSCTPExists = false
	})
	return kernelSCTPExists
}

func resolveSCTPMode(m SCTPMode) (SCTPMode, error) {
	switch m {
	case SCTPKernel:
		if !kernelHasSCTP() {
			return "", errors.New("kernel SCTP sockets requested, but this kernel has no SCTP (CONFIG_IP_SCTP)")
		}
		return SCTPKernel, nil
	case SCTPRaw:
		return SCTPRaw, nil
	case SCTPAuto, "":
		if kernelHasSCTP() {
			return SCTPKernel, nil
		}
		return SCTPRaw, nil
	default:
		return "", fmt.Errorf("unknown SCTP mode %q", m)
	}
}

// clientSCTPMode is the mode probes use; `probe --sctp-mode` sets it.
var (
	clientSCTPModeMu sync.Mutex
	clientSCTPMode   = SCTPAuto
)

// SetClientSCTPMode chooses how Connect speaks SCTP in this process.
func SetClientSCTPMode(m SCTPMode) {
	clientSCTPModeMu.Lock()
	defer clientSCTPModeMu.Unlock()
	clientSCTPMode = m
}

func currentClientSCTPMode() (SCTPMode, error) {
	clientSCTPModeMu.Lock()
	m := clientSCTPMode
	clientSCTPModeMu.Unlock()
	return resolveSCTPMode(m)
}
