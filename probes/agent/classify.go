package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// setupSyscalls are the system calls whose failure means the probe could not
// run at all (no socket, no permission), as opposed to an answer from the
// network. Their errors are always Error, never a verdict.
var setupSyscalls = map[string]bool{
	"socket": true, "bind": true, "setsockopt": true, "listen": true,
}

// classify maps an error met while connecting, sending or receiving to an
// Outcome. Linux reports ICMP errors as errno values: port and protocol
// unreachable become ECONNREFUSED/ENOPROTOOPT (nothing listens: Refused);
// admin-prohibited (type 3 code 13), host- and net-unreachable become
// EHOSTUNREACH/ENETUNREACH (a filter or the network said no: Rejected).
// EPERM from send or connect means a local netfilter rule dropped the packet
// on its way out: that is a filter's verdict too, so Rejected.
func classify(err error) Outcome {
	if err == nil {
		return Connected
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) && setupSyscalls[sysErr.Syscall] {
		return Error
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Error
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.ENOPROTOOPT), errors.Is(err, unix.ECONNRESET):
		return Refused
	case errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.ENETUNREACH),
		errors.Is(err, unix.EHOSTDOWN), errors.Is(err, unix.ENONET),
		errors.Is(err, unix.ENETDOWN), errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return Rejected
	case errors.Is(err, io.EOF):
		// The peer accepted and closed without an identity: someone else
		// answered.
		return WrongPeer
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Timeout
	}
	return Error
}
