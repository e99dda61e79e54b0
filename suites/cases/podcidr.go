package cases

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// PodCIDR is an ipBlock CIDR, or an except entry, that names a pod instead
// of an address: "the /32 of pod y/b". Pod addresses are the cluster's
// choice, known only once the pods run, so a case that must name one cannot
// write it down; it writes this placeholder, and the policy actions resolve
// it against the pods' addresses as they apply. The policy stays a plain
// NetworkPolicy object, readable and writable as YAML.
//
// In a policy the placeholder is the text String returns, in place of the
// CIDR:
//
//	ipBlock:
//	  cidr: "{{podCIDR y/a /4 /8}}"
//	  except: ["{{podCIDR y/a /32 /128}}"]
//
// reads "the /4 (IPv4) or /8 (IPv6) prefix holding y/a's address, except
// y/a's own address". Both lengths are given because the same case runs on
// clusters of either family.
type PodCIDR struct {
	Pod model.PodRef
	// IPv4 and IPv6 are the prefix lengths to use when the pod's address is
	// of that family; the address is masked to them.
	IPv4, IPv6 int
}

// podCIDRFunc is the placeholder's name inside the braces.
const podCIDRFunc = "podCIDR"

// String is the placeholder text a policy carries.
func (p PodCIDR) String() string {
	return fmt.Sprintf("{{%s %s /%d /%d}}", podCIDRFunc, p.Pod, p.IPv4, p.IPv6)
}

// HostPodCIDR is the pod's own address: /32 on IPv4, /128 on IPv6.
func HostPodCIDR(ref model.PodRef) PodCIDR { return PodCIDR{Pod: ref, IPv4: 32, IPv6: 128} }

// isPlaceholder says whether an ipBlock entry is meant as a PodCIDR; a
// malformed one is an error from ParsePodCIDR, never an address.
func isPlaceholder(s string) bool { return strings.Contains(s, "{{") }

// ParsePodCIDR reads the text String writes.
func ParsePodCIDR(s string) (PodCIDR, error) {
	bad := func(why string) (PodCIDR, error) {
		return PodCIDR{}, fmt.Errorf("%q: %s; want {{%s NAMESPACE/POD /IPV4-LENGTH /IPV6-LENGTH}}", s, why, podCIDRFunc)
	}
	inner, ok := strings.CutPrefix(strings.TrimSpace(s), "{{")
	if !ok {
		return bad("not a placeholder")
	}
	inner, ok = strings.CutSuffix(inner, "}}")
	if !ok {
		return bad("no closing }}")
	}
	f := strings.Fields(inner)
	if len(f) != 4 || f[0] != podCIDRFunc {
		return bad("wrong form")
	}
	ref, err := model.ParsePodRef(f[1])
	if err != nil {
		return bad(err.Error())
	}
	length := func(s string, max int) (int, bool) {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "/"))
		return n, err == nil && strings.HasPrefix(s, "/") && n >= 0 && n <= max
	}
	v4, ok4 := length(f[2], 32)
	v6, ok6 := length(f[3], 128)
	if !ok4 || !ok6 {
		return bad("prefix lengths are /0 to /32 for IPv4, then /0 to /128 for IPv6")
	}
	return PodCIDR{Pod: ref, IPv4: v4, IPv6: v6}, nil
}

// Resolve is the prefix the placeholder stands for in the topology.
func (p PodCIDR) Resolve(t *model.Topology) (string, error) {
	a, err := PodIP(t, p.Pod)
	if err != nil {
		return "", err
	}
	bits := p.IPv4
	if a.Is6() && !a.Is4In6() {
		bits = p.IPv6
	}
	return netip.PrefixFrom(a.Unmap(), bits).Masked().String(), nil
}

// ResolvePolicy returns a copy of the policy with every PodCIDR placeholder
// replaced by the prefix it stands for in the state's topology. A policy
// without placeholders comes back as an equal copy.
func (s *State) ResolvePolicy(np *networkingv1.NetworkPolicy) (*networkingv1.NetworkPolicy, error) {
	out := np.DeepCopy()
	err := eachIPBlock(out, func(where string, b *networkingv1.IPBlock) error {
		resolve := func(field string, v *string) error {
			if !isPlaceholder(*v) {
				return nil
			}
			pc, err := ParsePodCIDR(*v)
			if err == nil {
				*v, err = pc.Resolve(s.Topology)
			}
			if err != nil {
				return fmt.Errorf("%s.ipBlock.%s: %w", where, field, err)
			}
			return nil
		}
		if err := resolve("cidr", &b.CIDR); err != nil {
			return err
		}
		for i := range b.Except {
			if err := resolve(fmt.Sprintf("except[%d]", i), &b.Except[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PodCIDRs lists the placeholders of a policy, in the order they appear.
func PodCIDRs(np *networkingv1.NetworkPolicy) ([]PodCIDR, error) {
	var out []PodCIDR
	err := eachIPBlock(np, func(where string, b *networkingv1.IPBlock) error {
		for _, v := range append([]string{b.CIDR}, b.Except...) {
			if !isPlaceholder(v) {
				continue
			}
			pc, err := ParsePodCIDR(v)
			if err != nil {
				return fmt.Errorf("%s.ipBlock: %w", where, err)
			}
			out = append(out, pc)
		}
		return nil
	})
	return out, err
}

// eachIPBlock calls f on every ipBlock of the policy's rules, with the
// field path of its peer.
func eachIPBlock(np *networkingv1.NetworkPolicy, f func(where string, b *networkingv1.IPBlock) error) error {
	for i := range np.Spec.Ingress {
		for j := range np.Spec.Ingress[i].From {
			if b := np.Spec.Ingress[i].From[j].IPBlock; b != nil {
				if err := f(fmt.Sprintf("spec.ingress[%d].from[%d]", i, j), b); err != nil {
					return err
				}
			}
		}
	}
	for i := range np.Spec.Egress {
		for j := range np.Spec.Egress[i].To {
			if b := np.Spec.Egress[i].To[j].IPBlock; b != nil {
				if err := f(fmt.Sprintf("spec.egress[%d].to[%d]", i, j), b); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
