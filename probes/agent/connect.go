package agent

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"
)

// maxIdentity bounds what a client reads as an identity: namespace/pod names
// are at most 63+1+253 bytes.
const maxIdentity = 512

// Connect runs one probe and returns its Result; it never returns an error:
// a probe that cannot run is a Result with Outcome Error. The probe ends at
// p.Timeout (DefaultTimeout if zero) or when ctx ends, whichever is first.
func Connect(ctx context.Context, p Probe) Result {
	start := time.Now()
	res := Result{ID: p.ID, To: p.To, Protocol: p.Protocol}
	proto, err := normalizeProtocol(p.Protocol)
	if err != nil {
		return failedResult(res, Error, err, start)
	}
	res.Protocol = proto
	target, err := parseTarget(p.To)
	if err != nil {
		return failedResult(res, Error, err, start)
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var identity string
	switch proto {
	case TCP:
		identity, err = connectTCP(ctx, target)
	case UDP:
		identity, err = connectUDP(ctx, target)
	case SCTP:
		identity, err = connectSCTP(ctx, target)
	}
	if err != nil {
		return failedResult(res, classifyProbeErr(err), err, start)
	}
	res.Latency = time.Since(start)
	res.Identity = identity
	res.Outcome = Connected
	if p.Expect != "" && identity != p.Expect {
		res.Outcome = WrongPeer
		res.Error = "expected " + p.Expect + ", answered by " + quoteIdentity(identity)
	}
	return res
}

// outcomeError carries an outcome decided where the error was seen (the raw
// SCTP endpoint reads ICMP types, not errno values).
type outcomeError struct {
	outcome Outcome
	err     error
}

func (e *outcomeError) Error() string { return e.err.Error() }
func (e *outcomeError) Unwrap() error { return e.err }

func classifyProbeErr(err error) Outcome {
	var oe *outcomeError
	if errors.As(err, &oe) {
		return oe.outcome
	}
	return classify(err)
}

func failedResult(res Result, outcome Outcome, err error, start time.Time) Result {
	res.Outcome = outcome
	res.Error = err.Error()
	res.Latency = time.Since(start)
	return res
}

func quoteIdentity(identity string) string {
	if identity == "" {
		return "a peer with no identity"
	}
	return identity
}

// cleanIdentity turns what a server sent into an identity: one line, trimmed.
func cleanIdentity(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(s)
}

// networkFor returns the Go network name for proto and the target's family.
func networkFor(proto string, target netip.AddrPort) string {
	if target.Addr().Is4() {
		return proto + "4"
	}
	return proto + "6"
}
