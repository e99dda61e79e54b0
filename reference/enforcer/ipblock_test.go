package enforcer

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestIPBlockExceptIsExact checks NP-IPBLOCK: an address is covered by the
// rendered prefixes iff it is in the cidr and in no except.
func TestIPBlockExceptIsExact(t *testing.T) {
	cases := []struct {
		clause string
		block  networkingv1.IPBlock
	}{
		{"NP-IPBLOCK v4 nested excepts", networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.1.0/24", "10.0.1.7/32", "10.0.200.128/25"}}},
		{"NP-IPBLOCK v4 except covers all", networkingv1.IPBlock{CIDR: "10.0.0.0/24", Except: []string{"10.0.0.0/16"}}},
		{"NP-IPBLOCK v4 except outside", networkingv1.IPBlock{CIDR: "10.0.0.0/24", Except: []string{"192.168.0.0/16"}}},
		{"NP-IPBLOCK v4 all addresses", networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "10.1.2.3/32"}}},
		{"NP-IPBLOCK v6", networkingv1.IPBlock{CIDR: "fd00::/16", Except: []string{"fd00:0:1::/48", "fd00::5/128"}}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		t.Run(tc.clause, func(t *testing.T) {
			got, err := ipBlockPrefixes(&tc.block)
			if err != nil {
				t.Fatal(err)
			}
			cidr := netip.MustParsePrefix(tc.block.CIDR)
			var probes []netip.Addr
			for _, e := range append([]string{tc.block.CIDR}, tc.block.Except...) {
				p := netip.MustParsePrefix(e)
				probes = append(probes, p.Addr(), p.Addr().Prev(), lastOf(p), lastOf(p).Next())
				for range 200 {
					probes = append(probes, randomIn(rng, p))
				}
			}
			for _, a := range probes {
				if !a.IsValid() {
					continue
				}
				want := cidr.Contains(a)
				for _, e := range tc.block.Except {
					if netip.MustParsePrefix(e).Contains(a) {
						want = false
					}
				}
				if have := containsAny(got, a); have != want {
					t.Fatalf("%s: %s covered=%v, want %v (prefixes %v)", tc.clause, a, have, want, got)
				}
			}
		})
	}
}

func TestIPBlockRejectsBadInput(t *testing.T) {
	for _, block := range []networkingv1.IPBlock{
		{CIDR: "10.0.0.0/33"},
		{CIDR: "10.0.0.0/8", Except: []string{"bogus"}},
		{CIDR: "10.0.0.0/8", Except: []string{"fd00::/8"}},
	} {
		if _, err := ipBlockPrefixes(&block); err == nil {
			t.Errorf("NP-IPBLOCK: %+v accepted", block)
		}
	}
}

func TestChainNamesFitIptables(t *testing.T) {
	for _, key := range []string{"x/a", "a-very-long-namespace-name-indeed/and-a-pod-name-that-is-long"} {
		for _, kind := range []string{"I-", "E-"} {
			if name := podChainName(DefaultChainPrefix, kind, key); len(name) > 28 {
				t.Errorf("chain name %q is %d characters, iptables allows 28", name, len(name))
			}
		}
	}
	if podChainName(DefaultChainPrefix, "I-", "x/a") == podChainName(DefaultChainPrefix, "I-", "x/b") {
		t.Error("two pods share a chain name")
	}
}

func lastOf(p netip.Prefix) netip.Addr {
	raw := p.Masked().Addr().AsSlice()
	for bit := p.Bits(); bit < len(raw)*8; bit++ {
		raw[bit/8] |= 0x80 >> (bit % 8)
	}
	a, _ := netip.AddrFromSlice(raw)
	return a
}

func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	raw := p.Masked().Addr().AsSlice()
	for bit := p.Bits(); bit < len(raw)*8; bit++ {
		if rng.IntN(2) == 1 {
			raw[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	a, _ := netip.AddrFromSlice(raw)
	return a
}
