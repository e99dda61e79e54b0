package agent

import (
	"context"
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Hooks for the classifier tests, which live in package agent_test because
// they need agenttest (which imports this package). They produce errors with
// the agent's own connect code, in the calling thread's network namespace,
// and feed them to the classifier.
var (
	Classify   = classify
	ConnectTCP = connectTCP
	ConnectUDP = connectUDP
)

// ReachesClassify reports whether classify decides err's outcome: false
// when the error carries an outcome decided where it was seen (an ICMP
// error read from the socket's error queue).
func ReachesClassify(err error) bool {
	var oe *outcomeError
	return !errors.As(err, &oe)
}

// ConnectRawSCTP probes target with a raw SCTP client of its own, opened in
// the calling thread's network namespace; the process-wide clients, bound
// to the namespace that first used them, stay untouched.
func ConnectRawSCTP(ctx context.Context, target netip.AddrPort) (string, error) {
	family := unix.AF_INET
	if !target.Addr().Is4() {
		family = unix.AF_INET6
	}
	sock, err := openRawSCTP(family, true)
	if err != nil {
		return "", err
	}
	defer sock.Close()
	c := &rawSCTPClient{sock: sock, inFlight: map[uint16]*sctpAttempt{}}
	go func() { _ = sock.receive(c.onPacket, c.onError) }()
	return c.connect(ctx, target)
}
