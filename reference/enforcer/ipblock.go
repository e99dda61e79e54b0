package enforcer

import (
	"fmt"
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"
)

// ipBlockPrefixes returns cidr minus every except, as an exact list of
// prefixes (no except is ever widened or dropped). Excepts outside the cidr
// are ignored.
func ipBlockPrefixes(block *networkingv1.IPBlock) ([]netip.Prefix, error) {
	cidr, err := netip.ParsePrefix(block.CIDR)
	if err != nil {
		return nil, fmt.Errorf("ipBlock cidr %q: %w", block.CIDR, err)
	}
	cidr = cidr.Masked()
	var excepts []netip.Prefix
	for _, e := range block.Except {
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("ipBlock except %q: %w", e, err)
		}
		if ex.Addr().Is4() != cidr.Addr().Is4() {
			return nil, fmt.Errorf("ipBlock except %q is not in the family of cidr %q", e, block.CIDR)
		}
		excepts = append(excepts, ex.Masked())
	}
	return subtractPrefixes(cidr, excepts), nil
}

// subtractPrefixes splits p in halves until each half is either covered by an
// except (dropped) or disjoint from all of them (kept).
func subtractPrefixes(p netip.Prefix, excepts []netip.Prefix) []netip.Prefix {
	var overlapping []netip.Prefix
	for _, ex := range excepts {
		if ex.Bits() <= p.Bits() && ex.Contains(p.Addr()) {
			return nil
		}
		if p.Contains(ex.Addr()) {
			overlapping = append(overlapping, ex)
		}
	}
	if len(overlapping) == 0 {
		return []netip.Prefix{p}
	}
	low, high := splitPrefix(p)
	return append(subtractPrefixes(low, overlapping), subtractPrefixes(high, overlapping)...)
}

// splitPrefix returns the two halves of p (p has fewer bits than the address).
func splitPrefix(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	bits := p.Bits() + 1
	low := netip.PrefixFrom(p.Addr(), bits)
	raw := p.Addr().AsSlice()
	raw[p.Bits()/8] |= 0x80 >> (p.Bits() % 8)
	highAddr, _ := netip.AddrFromSlice(raw)
	return low, netip.PrefixFrom(highAddr, bits)
}
