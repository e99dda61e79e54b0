package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// udpRequest is what a client sends; the server answers any datagram with
// its identity, so the content only helps someone reading a packet capture.
var udpRequest = []byte("netpolcheck probe\n")

// firstResend is the pause before the first datagram is sent again; it
// doubles after each resend. Resending covers a datagram lost while the
// neighbour entry resolves, when hundreds of probes start at once.
const firstResend = 100 * time.Millisecond

// connectUDP sends datagrams on a connected socket with IP_RECVERR set, so
// every ICMP error about them (not only the "hard" ones) comes back as an
// errno on the next read or write. A send refused with EPERM was dropped by
// a local netfilter rule on its way out: that is a filter's verdict, so the
// probe ends there and classify reads it as Rejected. (TCP cannot see the
// same drop: the kernel ignores it and retransmits the SYN, so a local DROP
// of TCP times out.)
func connectUDP(ctx context.Context, target netip.AddrPort) (string, error) {
	conn, err := dialUDPFromFreshPort(ctx, target)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := setRecvErr(conn, target.Addr().Is4()); err != nil {
		return "", err
	}
	deadline, _ := ctx.Deadline()
	buf := make([]byte, maxIdentity)
	wait := firstResend
	for {
		if _, err := conn.Write(udpRequest); err != nil {
			return "", fmt.Errorf("send: %w", err)
		}
		readUntil := time.Now().Add(wait)
		if !deadline.IsZero() && readUntil.After(deadline) {
			readUntil = deadline
		}
		_ = conn.SetReadDeadline(readUntil)
		n, err := conn.Read(buf)
		if err == nil {
			return cleanIdentity(buf[:n]), nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return "", fmt.Errorf("receive: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("no answer: %w", err)
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return "", fmt.Errorf("no answer: %w", context.DeadlineExceeded)
		}
		wait *= 2
	}
}

// bindAttempts bounds the ports tried when others are taken by sockets that
// are not ours (on a node's network, say).
const bindAttempts = 16

// dialUDPFromFreshPort connects a UDP socket to target from the source port
// probeSourcePorts gives it (see sourceport.go). SO_REUSEADDR lets probes to
// different destinations share a port: each connected socket receives only
// its own peer's datagrams and ICMP errors.
func dialUDPFromFreshPort(ctx context.Context, target netip.AddrPort) (*net.UDPConn, error) {
	var lastErr error
	for range bindAttempts {
		port := probeSourcePorts.next(UDP, target)
		d := net.Dialer{LocalAddr: &net.UDPAddr{Port: int(port)}, Control: setReuseAddr}
		conn, err := d.DialContext(ctx, networkFor("udp", target), target.String())
		if err == nil {
			return conn.(*net.UDPConn), nil
		}
		if !errors.Is(err, unix.EADDRINUSE) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("no free UDP source port after %d tries: %w", bindAttempts, lastErr)
}

func setReuseAddr(_, _ string, raw syscall.RawConn) error {
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}); err != nil {
		return err
	}
	return sockErr
}

func setRecvErr(conn *net.UDPConn, ipv4 bool) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		if ipv4 {
			sockErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
		} else {
			sockErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
		}
	})
	if err != nil {
		return err
	}
	if sockErr != nil {
		return &net.OpError{Op: "setup", Net: "udp", Err: &os.SyscallError{Syscall: "setsockopt", Err: sockErr}}
	}
	return nil
}

// serveUDP answers every datagram with the identity until conn is closed.
func serveUDP(conn net.PacketConn, identity []byte) {
	buf := make([]byte, 2048)
	for {
		_, from, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error about an earlier reply: not ours to act on
		}
		_, _ = conn.WriteTo(identity, from)
	}
}
