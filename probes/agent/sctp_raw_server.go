package agent

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"
)

// rawSCTPServer answers INITs on raw sockets, statelessly: an INIT to a
// served port gets an INIT-ACK whose State Cookie carries the identity; an
// INIT to any other port gets an ABORT, as a kernel SCTP stack would answer.
// Everything else (the client's ABORT, other chunks) needs no answer.
//
// A raw socket sees every SCTP packet to the namespace, so one raw server
// per network namespace, unless all but one of them are told not to ABORT
// (WithoutSCTPAbort).
type rawSCTPServer struct {
	socks       []*rawSocket
	ports       map[uint16]bool
	abortOthers bool
}

func listenRawSCTP(ports []int, abortOthers bool) (sctpListener, error) {
	s := &rawSCTPServer{ports: map[uint16]bool{}, abortOthers: abortOthers}
	for _, p := range ports {
		s.ports[uint16(p)] = true
	}
	v4, err := openRawSCTP(unix.AF_INET, false)
	if err != nil {
		return nil, err
	}
	s.socks = append(s.socks, v4)
	// IPv6 is optional: a namespace may have it disabled.
	if v6, err := openRawSCTP(unix.AF_INET6, false); err == nil {
		s.socks = append(s.socks, v6)
	} else if !errors.Is(err, unix.EAFNOSUPPORT) {
		v4.Close()
		return nil, err
	}
	return s, nil
}

func (s *rawSCTPServer) serve(identity []byte) {
	cookie := append([]byte(identityCookieMark), identity...)
	var wg sync.WaitGroup
	for _, sock := range s.socks {
		wg.Go(func() {
			_ = sock.receive(func(p rawPacket) { s.answer(sock, p, cookie) }, nil)
		})
	}
	wg.Wait()
}

func (s *rawSCTPServer) answer(sock *rawSocket, p rawPacket, cookie []byte) {
	h, chunks, err := decodeSCTP(p.SCTP)
	// An INIT comes alone, with tag zero (RFC 9260 8.5.1 A).
	if err != nil || len(chunks) == 0 || chunks[0].Type != chunkInit || h.VTag != 0 {
		return
	}
	in, err := decodeInit(chunks[0].Value)
	if err != nil || in.InitiateTag == 0 {
		return
	}
	reply := sctpHeader{SrcPort: h.DstPort, DstPort: h.SrcPort, VTag: in.InitiateTag}
	var pkt []byte
	if s.ports[h.DstPort] {
		tag := randomUint32()
		for tag == 0 {
			tag = randomUint32()
		}
		pkt = encodeSCTP(reply, sctpChunk{Type: chunkInitAck, Value: encodeInit(sctpInit{
			InitiateTag: tag, ReceiveWindow: sctpReceiveWindow,
			OutStreams: sctpStreams, InStreams: sctpStreams, InitialTSN: randomUint32(),
			Params: []sctpParam{{Type: paramStateCookie, Value: cookie}},
		})})
	} else if s.abortOthers {
		pkt = encodeSCTP(reply, sctpChunk{Type: chunkAbort})
	} else {
		return
	}
	_ = sock.send(p.Src, p.Dst, pkt)
}

func (s *rawSCTPServer) Close() error {
	for _, sock := range s.socks {
		sock.Close()
	}
	return nil
}
