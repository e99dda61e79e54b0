package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSocket is a non-blocking raw IP socket for SCTP (protocol 132) inside
// Go's poller, so reads and writes park goroutines instead of threads.
type rawSocket struct {
	family int // unix.AF_INET or unix.AF_INET6
	file   *os.File
	conn   syscall.RawConn
}

// rawPacket is one SCTP packet received with its addresses.
type rawPacket struct {
	Src, Dst netip.Addr
	SCTP     []byte
}

// rawICMPError is an ICMP error about a packet we sent, from the socket's
// error queue: Dst is where that packet went, Quoted starts at its SCTP
// common header.
type rawICMPError struct {
	Dst        netip.Addr
	ICMPv6     bool
	Type, Code uint8
	Quoted     []byte
}

var errNeedsNetRaw = errors.New("raw SCTP sockets need CAP_NET_RAW (run as root, or grant the capability: setcap cap_net_raw+p on the binary, or securityContext.capabilities.add [NET_RAW])")

// openRawSCTP opens a raw socket of family for SCTP. With recvErr, ICMP
// errors about what it sends are queued for readErrors (IP_RECVERR).
func openRawSCTP(family int, recvErr bool) (*rawSocket, error) {
	var fd int
	err := withNetRaw(func() (err error) {
		fd, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, ipProtoSCTP)
		return err
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: %w", errNeedsNetRaw, os.NewSyscallError("socket", err))
		}
		return nil, os.NewSyscallError("socket", err)
	}
	setopt := func(level, opt int) error {
		if err := unix.SetsockoptInt(fd, level, opt, 1); err != nil {
			unix.Close(fd)
			return os.NewSyscallError("setsockopt", err)
		}
		return nil
	}
	if family == unix.AF_INET6 {
		// IPv6 raw sockets do not hand us the IP header: ask for the
		// destination address separately.
		if err := setopt(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO); err != nil {
			return nil, err
		}
		if recvErr {
			if err := setopt(unix.IPPROTO_IPV6, unix.IPV6_RECVERR); err != nil {
				return nil, err
			}
		}
	} else if recvErr {
		if err := setopt(unix.IPPROTO_IP, unix.IP_RECVERR); err != nil {
			return nil, err
		}
	}
	file := os.NewFile(uintptr(fd), "raw-sctp")
	conn, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	return &rawSocket{family: family, file: file, conn: conn}, nil
}

func (s *rawSocket) Close() error { return s.file.Close() }

// receive reads packets and queued ICMP errors until the socket is closed,
// calling onPacket and onError (nil: errors are not read) for each.
func (s *rawSocket) receive(onPacket func(rawPacket), onError func(rawICMPError)) error {
	buf := make([]byte, 65536)
	oob := make([]byte, 512)
	for {
		err := s.conn.Read(func(fd uintptr) bool {
			if onError != nil {
				n, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
				if err == nil {
					if e, ok := parseErrQueueMessage(buf[:n], oob[:oobn], from); ok {
						onError(e)
					}
					return true
				}
			}
			n, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT)
			if errors.Is(err, unix.EAGAIN) {
				return false
			}
			if err == nil {
				if p, ok := s.parsePacket(buf[:n], oob[:oobn], from); ok {
					onPacket(p)
				}
			}
			// Other errors are pending ICMP errors reported as errno; the
			// error queue carries the details.
			return true
		})
		if err != nil {
			return err
		}
	}
}

func (s *rawSocket) parsePacket(b, oob []byte, from unix.Sockaddr) (rawPacket, bool) {
	if s.family == unix.AF_INET {
		// IPv4 raw sockets deliver the IP header.
		if len(b) < 20 || b[0]>>4 != 4 {
			return rawPacket{}, false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return rawPacket{}, false
		}
		return rawPacket{
			Src:  netip.AddrFrom4([4]byte(b[12:16])),
			Dst:  netip.AddrFrom4([4]byte(b[16:20])),
			SCTP: b[ihl:],
		}, true
	}
	sa, ok := from.(*unix.SockaddrInet6)
	if !ok {
		return rawPacket{}, false
	}
	p := rawPacket{Src: netip.AddrFrom16(sa.Addr), SCTP: b}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return rawPacket{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= unix.SizeofInet6Pktinfo {
			p.Dst = netip.AddrFrom16([16]byte(m.Data[:16]))
		}
	}
	return p, true
}

// parseErrQueueMessage reads an ICMP error from a MSG_ERRQUEUE message.
func parseErrQueueMessage(b, oob []byte, from unix.Sockaddr) (rawICMPError, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return rawICMPError{}, false
	}
	for _, m := range msgs {
		isErr := (m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR) ||
			(m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR)
		if !isErr || len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			continue
		}
		origin := m.Data[4]
		if origin != unix.SO_EE_ORIGIN_ICMP && origin != unix.SO_EE_ORIGIN_ICMP6 {
			continue
		}
		e := rawICMPError{ICMPv6: origin == unix.SO_EE_ORIGIN_ICMP6, Type: m.Data[5], Code: m.Data[6], Quoted: b}
		switch sa := from.(type) {
		case *unix.SockaddrInet4:
			e.Dst = netip.AddrFrom4(sa.Addr)
		case *unix.SockaddrInet6:
			e.Dst = netip.AddrFrom16(sa.Addr).Unmap()
		}
		return e, true
	}
	return rawICMPError{}, false
}

// send writes one SCTP packet to dst. A valid src makes it the packet's
// source address (IP_PKTINFO), so a reply leaves from the address the
// request was sent to, whatever the routing table prefers.
func (s *rawSocket) send(dst, src netip.Addr, pkt []byte) error {
	var sa unix.Sockaddr
	var oob []byte
	if s.family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
		if src.Is4() {
			oob = pktinfoCmsg(unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo, func(b []byte) {
				a := src.As4()
				copy(b[4:8], a[:]) // ipi_spec_dst
			})
		}
	} else {
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
		if src.IsValid() && !src.Is4() && !src.IsLinkLocalUnicast() {
			oob = pktinfoCmsg(unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo, func(b []byte) {
				a := src.As16()
				copy(b[0:16], a[:])
			})
		}
	}
	var sendErr error
	err := s.conn.Write(func(fd uintptr) bool {
		sendErr = unix.Sendmsg(int(fd), pkt, oob, sa, 0)
		return !errors.Is(sendErr, unix.EAGAIN)
	})
	if err != nil {
		return err
	}
	if sendErr != nil {
		return os.NewSyscallError("sendmsg", sendErr)
	}
	return nil
}

func pktinfoCmsg(level, typ, size int, fill func([]byte)) []byte {
	b := make([]byte, unix.CmsgSpace(size))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = int32(level)
	h.Type = int32(typ)
	h.SetLen(unix.CmsgLen(size))
	fill(b[unix.CmsgLen(0):])
	return b
}

// sctpPorts reads source and destination ports from an SCTP header.
func sctpPorts(b []byte) (src, dst uint16, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(b[0:]), binary.BigEndian.Uint16(b[2:]), true
}
