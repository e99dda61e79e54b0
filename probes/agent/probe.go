package agent

import "time"

// Outcome is the typed result of one probe.
type Outcome string

const (
	// Connected: the intended peer answered with the expected identity.
	Connected Outcome = "connected"
	// Refused: nothing listens (TCP RST, ICMP port unreachable, SCTP ABORT).
	Refused Outcome = "refused"
	// Rejected: a filter said no (ICMP admin-prohibited, host/net unreachable).
	Rejected Outcome = "rejected"
	// Timeout: no answer within the timeout (dropped).
	Timeout Outcome = "timeout"
	// WrongPeer: something answered, but not the intended identity.
	WrongPeer Outcome = "wrong-peer"
	// Error: the probe could not run. Never to be read as blocked.
	Error Outcome = "error"
)

// Probe is one connection attempt, as read by `probe batch` (a JSON array).
type Probe struct {
	// ID is echoed back in the Result, so callers can key results.
	ID string `json:"id,omitempty"`
	// To is IP:port (IPv6 in brackets).
	To string `json:"to"`
	// Protocol is TCP, UDP or SCTP (case-insensitive).
	Protocol string        `json:"protocol"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// Expect, when set, is the identity (namespace/pod) that must answer;
	// another identity gives WrongPeer.
	Expect string `json:"expect,omitempty"`
}

// Result is the outcome of one Probe, as written by `probe connect` and
// `probe batch` (one JSON object per line).
type Result struct {
	ID       string        `json:"id,omitempty"`
	To       string        `json:"to"`
	Protocol string        `json:"protocol"`
	Outcome  Outcome       `json:"outcome"`
	Identity string        `json:"identity,omitempty"`
	Latency  time.Duration `json:"latency"`
	Error    string        `json:"error,omitempty"`
}
