package agent

import (
	"context"
	"errors"
	"net/netip"
)

var errSCTPPending = errors.New("SCTP probes are not implemented yet")

func connectSCTP(ctx context.Context, target netip.AddrPort) (string, error) {
	return "", &outcomeError{outcome: Error, err: errSCTPPending}
}

type pendingSCTP struct{}

func (pendingSCTP) serve([]byte) {}
func (pendingSCTP) Close() error { return nil }

func listenKernelSCTP(ports []int) (sctpListener, error) { return pendingSCTP{}, nil }
func listenRawSCTP(ports []int) (sctpListener, error)    { return pendingSCTP{}, nil }
