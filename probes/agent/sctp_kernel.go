package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Kernel SCTP: one-to-one style sockets (SOCK_STREAM, IPPROTO_SCTP) behave
// like TCP for our purpose, so the server writes the identity line after
// accept and the client reads it. Go's net package does not open SCTP
// sockets, but once open they wrap into net.Conn and net.Listener.

// kernelSCTPServer holds one listener per port.
type kernelSCTPServer struct {
	listeners []net.Listener
	wg        sync.WaitGroup
}

func listenKernelSCTP(ports []int) (sctpListener, error) {
	s := &kernelSCTPServer{}
	for _, port := range ports {
		ln, err := listenKernelSCTPPort(port)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("port %d: %w", port, err)
		}
		s.listeners = append(s.listeners, ln)
	}
	return s, nil
}

func listenKernelSCTPPort(port int) (net.Listener, error) {
	family := unix.AF_INET6
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	var sa unix.Sockaddr = &unix.SockaddrInet6{Port: port}
	if err != nil {
		// No IPv6 in this namespace: IPv4 only.
		family = unix.AF_INET
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
		sa = &unix.SockaddrInet4{Port: port}
	}
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	f := os.NewFile(uintptr(fd), "sctp-listener")
	defer f.Close() // FileListener dups the descriptor
	return net.FileListener(f)
}

func (s *kernelSCTPServer) serve(identity []byte) {
	line := append(append([]byte(nil), identity...), '\n')
	for _, ln := range s.listeners {
		s.wg.Go(func() { serveTCP(ln, line) })
	}
	s.wg.Wait()
}

func (s *kernelSCTPServer) Close() error {
	for _, ln := range s.listeners {
		ln.Close()
	}
	return nil
}

// connectKernelSCTP connects a kernel SCTP socket and reads the identity
// line, like TCP.
func connectKernelSCTP(ctx context.Context, target netip.AddrPort) (string, error) {
	return connectStream(ctx, target, unix.IPPROTO_SCTP)
}
