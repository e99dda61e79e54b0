package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// connectStream connects a TCP or kernel SCTP socket and reads the
// identity line. It does not use net.Dialer because of how Linux reports
// ICMP errors to a connecting socket: when the error arrives while the
// connect call still holds the socket lock (always possible when client and
// server share a host, as pods on veth pairs do), the kernel drops it as a
// "soft" error (TcpExtLockDroppedIcmps) and the connect runs into its
// timeout. With IP_RECVERR / IPV6_RECVERR the error is queued on the
// socket's error queue first, whatever the lock state, so we read the
// queue while waiting for the connect to complete.
func connectStream(ctx context.Context, target netip.AddrPort, protocol int) (string, error) {
	family, sa := sockaddrFor(target)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, protocol)
	if err != nil {
		return "", os.NewSyscallError("socket", err)
	}
	level, opt := unix.IPPROTO_IP, unix.IP_RECVERR
	if family == unix.AF_INET6 {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_RECVERR
	}
	if err := unix.SetsockoptInt(fd, level, opt, 1); err != nil {
		unix.Close(fd)
		return "", os.NewSyscallError("setsockopt", err)
	}
	// Register with the poller before connecting, so that an error queued
	// during the connect call is not missed.
	f := os.NewFile(uintptr(fd), "stream-probe")
	defer f.Close()
	raw, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	_ = f.SetDeadline(deadline)

	var connectErr error
	if err := raw.Control(func(fd uintptr) { connectErr = unix.Connect(int(fd), sa) }); err != nil {
		return "", err
	}
	if connectErr != nil && !errors.Is(connectErr, unix.EINPROGRESS) {
		return "", os.NewSyscallError("connect", connectErr)
	}
	connectErr = nil
	waitErr := raw.Write(func(fd uintptr) bool {
		done, err := connectProgress(int(fd))
		connectErr = err
		return done
	})
	if connectErr != nil {
		return "", connectErr
	}
	if waitErr != nil {
		return "", fmt.Errorf("connect: %w", waitErr)
	}
	return readIdentityLine(f)
}

// connectProgress reports whether a non-blocking connect has finished, and
// how: a hard error (SO_ERROR), an ICMP error on the error queue, or
// connected.
func connectProgress(fd int) (bool, error) {
	soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, os.NewSyscallError("getsockopt", err)
	}
	if soErr != 0 {
		// Named apart from connect(2)'s own errors: classify reads EACCES
		// here as ICMPv6 admin-prohibited, there as a local refusal.
		return true, os.NewSyscallError(soError, unix.Errno(soErr))
	}
	if e, ok := readErrQueue(fd); ok {
		if outcome, detail := icmpOutcome(e); outcome != "" {
			return true, &outcomeError{outcome: outcome, err: errors.New(detail)}
		}
	}
	if _, err := unix.Getpeername(fd); err != nil {
		return false, nil // still connecting
	}
	return true, nil
}

// readErrQueue reads one ICMP error from a socket's error queue.
func readErrQueue(fd int) (rawICMPError, bool) {
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	for {
		n, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if err != nil {
			return rawICMPError{}, false
		}
		if e, ok := parseErrQueueMessage(buf[:n], oob[:oobn], from); ok {
			return e, true
		}
	}
}

func sockaddrFor(target netip.AddrPort) (int, unix.Sockaddr) {
	if target.Addr().Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(target.Port()), Addr: target.Addr().As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(target.Port()), Addr: target.Addr().As16()}
}
