package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
	"time"
)

// connectTCP opens a connection and reads the identity line the server
// writes right after accept.
func connectTCP(ctx context.Context, target netip.AddrPort) (string, error) {
	return connectStream(ctx, target, unix.IPPROTO_TCP)
}

// readIdentityLine reads until newline or EOF. An empty answer is io.EOF:
// something accepted the connection but did not say who it is.
func readIdentityLine(r io.Reader) (string, error) {
	buf := make([]byte, 0, 128)
	chunk := make([]byte, 128)
	for len(buf) < maxIdentity {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if i := indexNewline(buf); i >= 0 {
			return cleanIdentity(buf[:i]), nil
		}
		if err == io.EOF {
			if len(buf) == 0 {
				return "", fmt.Errorf("connected, but the peer closed without an identity: %w", io.EOF)
			}
			return cleanIdentity(buf), nil
		}
		if err != nil {
			return "", fmt.Errorf("connected, reading identity: %w", err)
		}
	}
	return cleanIdentity(buf), nil
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// serveTCP accepts connections until ln is closed and answers each with the
// identity line.
func serveTCP(ln net.Listener, identity []byte) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		go func() {
			defer conn.Close()
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = conn.Write(identity)
		}()
	}
}
