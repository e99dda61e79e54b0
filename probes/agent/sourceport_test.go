package agent

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a wall clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestSourcePortsNeverRepeatForADestination checks what keeps a probe off an
// earlier flow's conntrack entry (sourceport.go): no source port comes back
// to the same destination within the cycle, whether probes come once a
// round, several in one instant, or from a new process (a new allocator on
// the same clock). Clause: DESIGN "Probes" (every probe is a new flow).
func TestSourcePortsNeverRepeatForADestination(t *testing.T) {
	target := netip.MustParseAddrPort("10.244.1.7:81")
	other := netip.MustParseAddrPort("10.244.2.9:81")
	cycle := time.Duration(sourcePortCount) * slotLength
	if cycle < 4*time.Minute {
		t.Fatalf("a port comes back to a destination after %s: shorter than UDP's stream timeout (120 s) with margin", cycle)
	}
	tests := []struct {
		name      string
		gap       time.Duration // between probes to target
		perRound  int           // probes to target at one instant
		processes int           // allocators, one after another, on one clock
	}{
		{name: "one probe a round, rounds 300ms apart", gap: 300 * time.Millisecond, perRound: 1, processes: 1},
		{name: "rounds faster than a slot", gap: time.Millisecond, perRound: 1, processes: 1},
		{name: "several probes in one instant", gap: 200 * time.Millisecond, perRound: 5, processes: 1},
		{name: "a new process per batch", gap: 250 * time.Millisecond, perRound: 2, processes: 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
			seen := map[uint16]time.Time{}
			rounds := 400 / tc.processes
			for range tc.processes {
				ports := newSourcePorts(clock.now)
				for range rounds {
					for range tc.perRound {
						port := ports.next(UDP, target)
						if port < sourcePortLow || port > sourcePortHigh {
							t.Fatalf("port %d outside %d-%d", port, sourcePortLow, sourcePortHigh)
						}
						if at, ok := seen[port]; ok {
							t.Fatalf("port %d given to %s at %s and again %s later", port, target, at.Format(time.StampMilli), clock.t.Sub(at))
						}
						seen[port] = clock.t
						ports.next(UDP, other) // other destinations do not disturb this one
						ports.next(SCTP, target)
					}
					clock.advance(tc.gap)
				}
			}
		})
	}
}

// TestSourcePortsSpreadDestinations: probes started in one instant to
// different destinations mostly get different ports, so few of them share
// a port through SO_REUSEADDR.
func TestSourcePortsSpreadDestinations(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	ports := newSourcePorts(clock.now)
	distinct := map[uint16]bool{}
	const destinations = 54 // 27 pods, 2 UDP ports: one source's round
	for i := range destinations {
		distinct[ports.next(UDP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, byte(i / 3), byte(i % 3)}), 80+uint16(i%2)))] = true
	}
	if len(distinct) < destinations-3 {
		t.Errorf("%d destinations probed in one instant got only %d distinct ports", destinations, len(distinct))
	}
}
