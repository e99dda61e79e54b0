package agent

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// DefaultTimeout applies to a Probe that sets none.
const DefaultTimeout = time.Second

// Protocol names as Probe.Protocol and Result.Protocol carry them.
const (
	TCP  = "TCP"
	UDP  = "UDP"
	SCTP = "SCTP"
)

// normalizeProtocol returns TCP, UDP or SCTP for any spelling of them.
func normalizeProtocol(p string) (string, error) {
	switch up := strings.ToUpper(strings.TrimSpace(p)); up {
	case TCP, UDP, SCTP:
		return up, nil
	default:
		return "", fmt.Errorf("unknown protocol %q: want TCP, UDP or SCTP", p)
	}
}

// parseTarget parses Probe.To, which must be a literal IP:port: probes never
// resolve names, so a name can never hide which pod was probed.
func parseTarget(to string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(to)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("probe target %q: want IP:port (IPv6 in brackets): %w", to, err)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("probe target %q: port 0", to)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
