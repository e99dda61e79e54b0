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

// packetSyscalls are the system calls that hand a packet to the network
// stack: write on a connected UDP socket, sendto, sendmsg on the raw SCTP
// socket. Netfilter reports a packet that a rule dropped on its way out
// (OUTPUT; a cgroup BPF egress program does the same) as EPERM from these.
var packetSyscalls = map[string]bool{
	"write": true, "sendto": true, "sendmsg": true,
}

// soError is the Syscall name under which connectStream reports the error
// a connecting socket received after connect(2) returned (SO_ERROR): an
// answer from the network, never the connect call's own refusal.
const soError = "connect (SO_ERROR)"

// asyncErrorSyscalls are where an error that arrived after the fact (an
// ICMP error, a reset) surfaces: read from the socket, not returned by the
// call that sent.
var asyncErrorSyscalls = map[string]bool{
	"read": true, "recvfrom": true, "recvmsg": true, soError: true,
}

// classify maps an error met while connecting, sending or receiving to an
// Outcome. Linux reports ICMP errors as errno values: port and protocol
// unreachable become ECONNREFUSED/ENOPROTOOPT, and a reset ECONNRESET
// (nothing listens: Refused); admin-prohibited (type 3 code 13), host and
// net unreachable, host unknown and host isolated become EHOSTUNREACH,
// ENETUNREACH, EHOSTDOWN and ENONET (a filter or the network said no:
// Rejected), as does ENETDOWN.
//
// EPERM and EACCES are either a filter's verdict or the probe's own lack of
// permission; only the system call that reported them tells which:
//   - EPERM from write, sendto or sendmsg is a local netfilter rule dropping
//     the packet on its way out: Rejected.
//   - EPERM from anything else is Error. Netfilter never makes connect(2)
//     fail (a TCP SYN dropped by OUTPUT is retransmitted silently and times
//     out), so an EPERM there comes from a seccomp profile, an LSM or a
//     cgroup BPF connect hook: the probe cannot tell it from its own sandbox.
//   - EACCES read from the socket after the fact (read, recv*, SO_ERROR) is
//     Rejected: only ICMPv6 admin-prohibited, policy-fail and reject-route
//     put it there.
//   - EACCES returned by the call itself (connect, send*) is Error:
//     netfilter never returns it; it means a send to a broadcast address
//     without SO_BROADCAST, an LSM (SELinux, AppArmor, Landlock) denying the
//     probe, or a "prohibit" route, which the probe cannot tell apart. (A
//     send can also return a pending ICMPv6 EACCES; that rare race is Error
//     too: a needless error, never a wrong "blocked".)
//
// Setup calls (socket, bind, setsockopt, listen) failing is Error whatever
// the errno. So is anything unknown: an error that cannot be read soundly as
// a verdict is an infrastructure failure, never "blocked".
func classify(err error) Outcome {
	if err == nil {
		return Connected
	}
	var sysErr *os.SyscallError
	hasSyscall := errors.As(err, &sysErr)
	if hasSyscall && setupSyscalls[sysErr.Syscall] {
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
		errors.Is(err, unix.ENETDOWN):
		return Rejected
	case errors.Is(err, unix.EPERM):
		if hasSyscall && packetSyscalls[sysErr.Syscall] {
			return Rejected
		}
		return Error
	case errors.Is(err, unix.EACCES):
		if hasSyscall && asyncErrorSyscalls[sysErr.Syscall] {
			return Rejected
		}
		return Error
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
