package agent

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// rawSCTPClient is the process-wide client end of raw SCTP: one raw socket
// per address family, one reader, and the probes in flight keyed by their
// local port. Replies are matched by port, verification tag and peer
// address, so any number of probes share the socket.
type rawSCTPClient struct {
	sock *rawSocket

	mu       sync.Mutex
	inFlight map[uint16]*sctpAttempt
}

// sctpAttempt is one probe waiting for its answer.
type sctpAttempt struct {
	localPort uint16
	tag       uint32 // our Initiate Tag: the tag replies must carry
	target    netip.AddrPort
	answers   chan sctpAnswer
}

// sctpAnswer is what came back for an attempt.
type sctpAnswer struct {
	outcome  Outcome // Connected (INIT-ACK), Refused or Rejected
	peerTag  uint32  // the INIT-ACK's Initiate Tag, for our ABORT
	identity string
	ours     bool // the INIT-ACK carried a raw probe server's cookie
	detail   string
}

// Client sockets bind to the network namespace of the thread that opens
// them, once per process: the probe binary runs whole inside one namespace.
var rawClients [2]struct {
	once   sync.Once
	client *rawSCTPClient
	err    error
}

func rawClientFor(ipv4 bool) (*rawSCTPClient, error) {
	i, family := 0, unix.AF_INET
	if !ipv4 {
		i, family = 1, unix.AF_INET6
	}
	rc := &rawClients[i]
	rc.once.Do(func() {
		sock, err := openRawSCTP(family, true)
		if err != nil {
			rc.err = err
			return
		}
		c := &rawSCTPClient{sock: sock, inFlight: map[uint16]*sctpAttempt{}}
		go func() { _ = sock.receive(c.onPacket, c.onError) }()
		rc.client = c
	})
	return rc.client, rc.err
}

func randomUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func (c *rawSCTPClient) register(target netip.AddrPort) (*sctpAttempt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.inFlight) >= sourcePortCount {
		return nil, errors.New("no free local SCTP port")
	}
	for {
		// A fresh port per destination (sourceport.go); one that another
		// probe in flight holds is skipped, as the next slot is free.
		port := probeSourcePorts.next(SCTP, target)
		if _, busy := c.inFlight[port]; busy {
			continue
		}
		tag := randomUint32()
		for tag == 0 { // a zero Initiate Tag is invalid (RFC 9260 3.3.2)
			tag = randomUint32()
		}
		a := &sctpAttempt{localPort: port, tag: tag, target: target, answers: make(chan sctpAnswer, 1)}
		c.inFlight[port] = a
		return a, nil
	}
}

func (c *rawSCTPClient) unregister(a *sctpAttempt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inFlight, a.localPort)
}

func (c *rawSCTPClient) lookup(localPort uint16) *sctpAttempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlight[localPort]
}

func (a *sctpAttempt) deliver(ans sctpAnswer) {
	select {
	case a.answers <- ans:
	default: // an answer is already waiting; the first one decides
	}
}

// onPacket handles INIT-ACK and ABORT chunks addressed to a probe in flight.
func (c *rawSCTPClient) onPacket(p rawPacket) {
	h, chunks, err := decodeSCTP(p.SCTP)
	if err != nil || len(chunks) == 0 {
		return
	}
	a := c.lookup(h.DstPort)
	if a == nil || h.SrcPort != a.target.Port() || p.Src != a.target.Addr() {
		return
	}
	switch first := chunks[0]; first.Type {
	case chunkInitAck:
		if h.VTag != a.tag {
			return
		}
		in, err := decodeInit(first.Value)
		if err != nil {
			return
		}
		identity, ours := identityFromCookie(in)
		a.deliver(sctpAnswer{outcome: Connected, peerTag: in.InitiateTag, identity: identity, ours: ours})
	case chunkAbort:
		// An ABORT for our INIT carries our Initiate Tag, or the INIT's own
		// tag (zero) with the T bit set (RFC 9260 8.4, 8.5.1).
		if h.VTag == a.tag || (first.Flags&abortFlagT != 0 && h.VTag == 0) {
			a.deliver(sctpAnswer{outcome: Refused, detail: fmt.Sprintf("SCTP ABORT from %s: nothing serves port %d", a.target.Addr(), a.target.Port())})
		}
	}
}

// onError handles ICMP errors about our INITs.
func (c *rawSCTPClient) onError(e rawICMPError) {
	src, dst, ok := sctpPorts(e.Quoted)
	if !ok {
		return
	}
	a := c.lookup(src)
	if a == nil || dst != a.target.Port() || e.Dst != a.target.Addr() {
		return
	}
	// Routers may quote only 8 bytes; Linux quotes the whole INIT, and then
	// its Initiate Tag must be ours.
	if len(e.Quoted) >= sctpCommonHeader+sctpChunkHeader+4 &&
		binary.BigEndian.Uint32(e.Quoted[sctpCommonHeader+sctpChunkHeader:]) != a.tag {
		return
	}
	outcome, detail := icmpOutcome(e)
	if outcome == "" {
		return
	}
	a.deliver(sctpAnswer{outcome: outcome, detail: detail})
}

// icmpOutcome maps an ICMP destination-unreachable error to an Outcome:
// port or protocol unreachable is Refused (nothing serves SCTP there: a
// kernel without SCTP and without a raw listener answers protocol
// unreachable); every other code (admin-prohibited, host or net
// unreachable) is Rejected. Other ICMP types do not end the probe.
func icmpOutcome(e rawICMPError) (Outcome, string) {
	if e.ICMPv6 {
		switch {
		case e.Type == 1 && e.Code == 4:
			return Refused, "ICMPv6 port unreachable"
		case e.Type == 4 && e.Code == 1:
			return Refused, "ICMPv6 unrecognized next header (no SCTP)"
		case e.Type == 1:
			return Rejected, fmt.Sprintf("ICMPv6 destination unreachable code %d", e.Code)
		}
		return "", ""
	}
	if e.Type != 3 {
		return "", ""
	}
	switch e.Code {
	case 2:
		return Refused, "ICMP protocol unreachable (no SCTP)"
	case 3:
		return Refused, "ICMP port unreachable"
	case 13:
		return Rejected, "ICMP communication administratively prohibited"
	case 0:
		return Rejected, "ICMP net unreachable"
	case 1:
		return Rejected, "ICMP host unreachable"
	default:
		return Rejected, fmt.Sprintf("ICMP destination unreachable code %d", e.Code)
	}
}

// connect sends INIT until an answer or ctx ends: INIT-ACK gives the
// identity (and we ABORT the half-open association, so neither side nor
// conntrack keeps it), ABORT or an ICMP error give their outcome.
func (c *rawSCTPClient) connect(ctx context.Context, target netip.AddrPort) (string, error) {
	a, err := c.register(target)
	if err != nil {
		return "", err
	}
	defer c.unregister(a)
	init := encodeSCTP(sctpHeader{SrcPort: a.localPort, DstPort: target.Port(), VTag: 0},
		sctpChunk{Type: chunkInit, Value: encodeInit(sctpInit{
			InitiateTag: a.tag, ReceiveWindow: sctpReceiveWindow,
			OutStreams: sctpStreams, InStreams: sctpStreams, InitialTSN: randomUint32(),
		})})
	wait := firstResend
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		// EPERM: a local rule dropped the INIT; as for UDP, classify reads
		// it as that rule's verdict.
		if err := c.sock.send(target.Addr(), netip.Addr{}, init); err != nil {
			return "", fmt.Errorf("send SCTP INIT: %w", err)
		}
		timer.Reset(wait)
		select {
		case ans := <-a.answers:
			if ans.outcome != Connected {
				return "", &outcomeError{outcome: ans.outcome, err: errors.New(ans.detail)}
			}
			abort := encodeSCTP(sctpHeader{SrcPort: a.localPort, DstPort: target.Port(), VTag: ans.peerTag},
				sctpChunk{Type: chunkAbort})
			_ = c.sock.send(target.Addr(), netip.Addr{}, abort)
			return ans.identity, nil
		case <-timer.C:
			wait *= 2
		case <-ctx.Done():
			return "", fmt.Errorf("no answer to SCTP INIT: %w", ctx.Err())
		}
	}
}

// connectSCTP probes with kernel sockets or raw INITs, per the process's
// SCTP mode.
func connectSCTP(ctx context.Context, target netip.AddrPort) (string, error) {
	mode, err := currentClientSCTPMode()
	if err != nil {
		return "", &outcomeError{outcome: Error, err: err}
	}
	if mode == SCTPKernel {
		return connectKernelSCTP(ctx, target)
	}
	client, err := rawClientFor(target.Addr().Is4())
	if err != nil {
		return "", &outcomeError{outcome: Error, err: err}
	}
	return client.connect(ctx, target)
}
