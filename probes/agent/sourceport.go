package agent

import (
	"hash/fnv"
	"net/netip"
	"sync"
	"time"
)

// A probe must be a new flow. An enforcer may (and the reference one does)
// accept every packet conntrack files as ESTABLISHED before it looks at any
// policy, and Linux keeps a UDP flow that saw a reply for 30 s (120 s once
// it is a stream) and a closed SCTP association for a few seconds. A probe
// that reuses the 5-tuple of an earlier one rides that entry: a cell that
// connected in one round and is denied in the next would connect again,
// and the run reports a leak that is the harness's own doing. The kernel
// picks UDP source ports at random, so with a few earlier flows to the same
// destination, about one probe in several thousand collides: rare per probe,
// certain over a suite.
//
// So UDP and raw SCTP probes choose their own source port: probes to one
// destination (protocol, address, port) walk the port range one slot per
// slotLength of wall clock, and at least one slot per probe. The same
// source port comes back to the same destination only after the whole range
// has gone by (about 280 s, longer than any conntrack timeout of a flow
// that saw one reply), also across agent processes, since the slot is taken
// from the clock rather than from a counter that starts again with each
// process (on a real cluster a batch may be its own exec). TCP needs none of
// this: Linux already spaces source ports per destination, and conntrack
// treats a SYN on a closed or TIME_WAIT entry as a new connection.
const (
	slotLength = 10 * time.Millisecond
	// The range Linux uses by default for ephemeral ports: clear of every
	// port a topology serves.
	sourcePortLow   = 32768
	sourcePortHigh  = 60999
	sourcePortCount = sourcePortHigh - sourcePortLow + 1
)

// sourcePorts hands out source ports per destination; see above.
type sourcePorts struct {
	now func() time.Time

	mu   sync.Mutex
	last map[portKey]int64 // the last slot given to each destination
}

type portKey struct {
	protocol string
	target   netip.AddrPort
}

// probeSourcePorts serves every UDP and raw SCTP probe of this process.
var probeSourcePorts = newSourcePorts(time.Now)

func newSourcePorts(now func() time.Time) *sourcePorts {
	return &sourcePorts{now: now, last: map[portKey]int64{}}
}

// next returns the source port for the next probe of protocol to target.
// Destinations are spread over the range by a hash of the target, so that
// probes started in the same slot to different destinations mostly bind
// different ports too.
func (s *sourcePorts) next(protocol string, target netip.AddrPort) uint16 {
	key := portKey{protocol, target}
	slot := s.now().UnixNano() / int64(slotLength)
	s.mu.Lock()
	if last, ok := s.last[key]; ok && slot <= last {
		slot = last + 1
	}
	s.last[key] = slot
	s.mu.Unlock()
	return uint16(sourcePortLow + (slot+spread(key))%sourcePortCount)
}

func spread(key portKey) int64 {
	h := fnv.New32a()
	b, _ := key.target.MarshalBinary()
	h.Write(b)
	h.Write([]byte(key.protocol))
	return int64(h.Sum32() % sourcePortCount)
}
