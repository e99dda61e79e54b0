package agent_test

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Peers that answer a probe the way no `probe serve` does, run by the test
// itself in the server's network namespace.

// serveTCPIn listens on addr in namespace ns and hands every accepted
// connection to handle until Cleanup closes the listener.
func serveTCPIn(t *testing.T, ns string, addr netip.AddrPort, handle func(*net.TCPConn)) {
	t.Helper()
	var ln *net.TCPListener
	err := onThread(t, ns, nil, func() (err error) {
		ln, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, ns, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			handle(conn)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}

// resetOnAccept closes with SO_LINGER 0: the kernel sends RST, not FIN.
func resetOnAccept(conn *net.TCPConn) {
	_ = conn.SetLinger(0)
	conn.Close()
}

// closeOnAccept closes at once: FIN, no identity.
func closeOnAccept(conn *net.TCPConn) { conn.Close() }

// forgeICMPUnreachable answers every UDP datagram to addr, in namespace ns,
// with an ICMP destination unreachable of code (IPv4 only), sent from a raw
// socket as a router would. It makes the ICMP errors that no iptables REJECT
// target sends: host unknown (code 7), host isolated (code 8), fragmentation
// needed (code 4, with next-hop MTU mtu). The client's kernel turns them into
// errno values as it does for any router's.
func forgeICMPUnreachable(t *testing.T, ns string, addr netip.AddrPort, code uint8, mtu uint16) {
	t.Helper()
	var conn *net.UDPConn
	raw := -1
	err := onThread(t, ns, nil, func() (err error) {
		if conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr)); err != nil {
			return err
		}
		raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	})
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("forging ICMP on %s in %s: %v", addr, ns, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer unix.Close(raw)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
			msg := icmpUnreachable(code, mtu, from, addr, n)
			_ = unix.Sendto(raw, msg, 0, &unix.SockaddrInet4{Addr: from.Addr().As4()})
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
}

// icmpUnreachable builds an ICMP destination unreachable message about a UDP
// datagram of payloadLen bytes from client to server, quoting its IPv4
// header and the first 8 bytes (RFC 792).
func icmpUnreachable(code uint8, mtu uint16, client, server netip.AddrPort, payloadLen int) []byte {
	ip := make([]byte, 20)
	ip[0] = 0x45 // IPv4, 5-word header
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+payloadLen))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // don't fragment
	ip[8] = 64
	ip[9] = unix.IPPROTO_UDP
	src, dst := client.Addr().As4(), server.Addr().As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], inetChecksum(ip))
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], client.Port())
	binary.BigEndian.PutUint16(udp[2:], server.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(8+payloadLen))

	msg := make([]byte, 8, 8+len(ip)+len(udp))
	msg[0], msg[1] = 3, code // destination unreachable
	binary.BigEndian.PutUint16(msg[6:], mtu)
	msg = append(append(msg, ip...), udp...)
	binary.BigEndian.PutUint16(msg[2:], inetChecksum(msg))
	return msg
}

// inetChecksum is the Internet checksum (RFC 1071).
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
