package model

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PolicyError says why a NetworkPolicy is invalid. Errs carry field paths
// such as spec.ingress[0].from[1].ipBlock.except[0].
type PolicyError struct {
	Policy string // namespace/name
	Errs   field.ErrorList
}

func (e *PolicyError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Error()
	}
	return fmt.Sprintf("policy %s: %s", e.Policy, strings.Join(msgs, "; "))
}

// PolicyKey returns namespace/name of a policy.
func PolicyKey(p *networkingv1.NetworkPolicy) string {
	return p.Namespace + "/" + p.Name
}

// Validate checks a policy the way the API server would before accepting
// it: selectors, CIDRs and excepts (an except must be a strict subset of its
// cidr), ports (endPort needs a numeric port and must not be below it) and
// protocols. It works on objects no API server has defaulted.
func Validate(p *networkingv1.NetworkPolicy) error {
	if p == nil {
		return fmt.Errorf("policy is nil")
	}
	var errs field.ErrorList
	if p.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), ""))
	}
	spec := field.NewPath("spec")
	errs = append(errs, validSelector(&p.Spec.PodSelector, spec.Child("podSelector"))...)
	for i, rule := range p.Spec.Ingress {
		path := spec.Child("ingress").Index(i)
		for j := range rule.From {
			errs = append(errs, validPeer(&rule.From[j], path.Child("from").Index(j))...)
		}
		for j := range rule.Ports {
			errs = append(errs, validPort(&rule.Ports[j], path.Child("ports").Index(j))...)
		}
	}
	for i, rule := range p.Spec.Egress {
		path := spec.Child("egress").Index(i)
		for j := range rule.To {
			errs = append(errs, validPeer(&rule.To[j], path.Child("to").Index(j))...)
		}
		for j := range rule.Ports {
			errs = append(errs, validPort(&rule.Ports[j], path.Child("ports").Index(j))...)
		}
	}
	seen := map[networkingv1.PolicyType]bool{}
	for i, pt := range p.Spec.PolicyTypes {
		path := spec.Child("policyTypes").Index(i)
		switch pt {
		case networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress:
		default:
			errs = append(errs, field.NotSupported(path, pt, []string{"Ingress", "Egress"}))
		}
		if seen[pt] {
			errs = append(errs, field.Duplicate(path, pt))
		}
		seen[pt] = true
	}
	if len(errs) > 0 {
		return &PolicyError{Policy: PolicyKey(p), Errs: errs}
	}
	return nil
}

func validSelector(sel *metav1.LabelSelector, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, path)
	if len(errs) == 0 {
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(path, sel, err.Error()))
		}
	}
	return errs
}

func validPeer(peer *networkingv1.NetworkPolicyPeer, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	kinds := 0
	if peer.PodSelector != nil {
		kinds++
		errs = append(errs, validSelector(peer.PodSelector, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		kinds++
		errs = append(errs, validSelector(peer.NamespaceSelector, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		kinds++
		errs = append(errs, validIPBlock(peer.IPBlock, path.Child("ipBlock"))...)
	}
	switch {
	case kinds == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case kinds > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify ipBlock together with a selector"))
	}
	return errs
}

func validIPBlock(block *networkingv1.IPBlock, path *field.Path) field.ErrorList {
	if block.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	cidr, err := netip.ParsePrefix(block.CIDR)
	if err != nil {
		return field.ErrorList{field.Invalid(path.Child("cidr"), block.CIDR, "not a valid CIDR")}
	}
	var errs field.ErrorList
	for i, s := range block.Except {
		except, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(path.Child("except").Index(i), s, "not a valid CIDR"))
		case !strictSubset(except, cidr):
			errs = append(errs, field.Invalid(path.Child("except").Index(i), s, fmt.Sprintf("must be a strict subset of cidr %s", block.CIDR)))
		}
	}
	return errs
}

// strictSubset is the API server's rule for except: inside cidr, and narrower.
func strictSubset(inner, outer netip.Prefix) bool {
	return inner.Addr().Is4() == outer.Addr().Is4() &&
		outer.Masked().Contains(inner.Addr()) && inner.Bits() > outer.Bits()
}

func validPort(port *networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil && protocolRank(*port.Protocol) == len(protocols) {
		errs = append(errs, field.NotSupported(path.Child("protocol"), *port.Protocol, []string{"TCP", "UDP", "SCTP"}))
	}
	if port.Port == nil {
		if port.EndPort != nil {
			errs = append(errs, field.Required(path.Child("port"), "must be set when endPort is set"))
		}
		return errs
	}
	if port.Port.Type == intstr.Int {
		if n := port.Port.IntVal; n < 1 || n > 65535 {
			errs = append(errs, field.Invalid(path.Child("port"), n, "must be from 1 to 65535"))
		}
		if port.EndPort != nil {
			if end := *port.EndPort; end < port.Port.IntVal {
				errs = append(errs, field.Invalid(path.Child("endPort"), end, fmt.Sprintf("must be greater than or equal to port %d", port.Port.IntVal)))
			} else if end > 65535 {
				errs = append(errs, field.Invalid(path.Child("endPort"), end, "must be from 1 to 65535"))
			}
		}
		return errs
	}
	if msgs := validation.IsValidPortName(port.Port.StrVal); len(msgs) > 0 {
		errs = append(errs, field.Invalid(path.Child("port"), port.Port.StrVal, msgs[0]))
	}
	if port.EndPort != nil {
		errs = append(errs, field.Invalid(path.Child("endPort"), *port.EndPort, "may not be set with a named port"))
	}
	return errs
}

// policyInfo is a validated policy with parsed selectors and blocks.
type policyInfo struct {
	np      *networkingv1.NetworkPolicy
	key     string
	podSel  labels.Selector
	ingress bool // effective policyTypes (NP-TYPES)
	egress  bool
	inRules []ruleInfo
	egRules []ruleInfo
}

type ruleInfo struct {
	peers []peerInfo // empty: every remote (NP-RULE)
	ports []portInfo // empty: every port and protocol (NP-RULE)
}

type peerKind int

const (
	peerPod peerKind = iota
	peerNS
	peerAnd
	peerIPBlock
)

func (k peerKind) clause() ClauseID {
	switch k {
	case peerPod:
		return ClausePeerPod
	case peerNS:
		return ClausePeerNS
	case peerAnd:
		return ClausePeerAnd
	default:
		return ClauseIPBlock
	}
}

type peerInfo struct {
	kind   peerKind
	podSel labels.Selector
	nsSel  labels.Selector
	podKey string // selector strings, for caching
	nsKey  string
	cidr   netip.Prefix // masked
	except []netip.Prefix
}

type portInfo struct {
	protocol corev1.Protocol
	any      bool // only a protocol: every port of it
	name     string
	number   int32
	end      int32 // 0: no range
}

func (pi portInfo) String() string {
	switch {
	case pi.any:
		return "all " + string(pi.protocol) + " ports"
	case pi.name != "":
		return fmt.Sprintf("named port %q/%s", pi.name, pi.protocol)
	case pi.end != 0:
		return fmt.Sprintf("ports %d-%d/%s", pi.number, pi.end, pi.protocol)
	default:
		return fmt.Sprintf("%d/%s", pi.number, pi.protocol)
	}
}

// parsePolicies validates every policy and checks its namespace exists.
func (w *world) parsePolicies(policies []*networkingv1.NetworkPolicy) ([]*policyInfo, error) {
	out := make([]*policyInfo, 0, len(policies))
	seen := map[string]bool{}
	for i, np := range policies {
		if np == nil {
			return nil, fmt.Errorf("policy %d is nil", i)
		}
		if err := Validate(np); err != nil {
			return nil, err
		}
		key := PolicyKey(np)
		if _, ok := w.nsLabels[np.Namespace]; !ok {
			return nil, &PolicyError{Policy: key, Errs: field.ErrorList{
				field.NotFound(field.NewPath("metadata", "namespace"), np.Namespace)}}
		}
		if seen[key] {
			return nil, &PolicyError{Policy: key, Errs: field.ErrorList{
				field.Duplicate(field.NewPath("metadata", "name"), np.Name)}}
		}
		seen[key] = true
		out = append(out, parsePolicy(np))
	}
	return out, nil
}

// parsePolicy turns a validated policy into a policyInfo.
func parsePolicy(np *networkingv1.NetworkPolicy) *policyInfo {
	pi := &policyInfo{np: np, key: PolicyKey(np), podSel: mustSelector(&np.Spec.PodSelector)}
	pi.ingress, pi.egress = EffectivePolicyTypes(np)
	for _, r := range np.Spec.Ingress {
		pi.inRules = append(pi.inRules, parseRule(r.From, r.Ports))
	}
	for _, r := range np.Spec.Egress {
		pi.egRules = append(pi.egRules, parseRule(r.To, r.Ports))
	}
	return pi
}

// EffectivePolicyTypes is NP-TYPES: policyTypes as written when set; when
// unset, Ingress always, and Egress when spec.egress has at least one rule.
func EffectivePolicyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func parseRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) ruleInfo {
	var ri ruleInfo
	for _, p := range peers {
		var pe peerInfo
		switch {
		case p.IPBlock != nil:
			pe.kind = peerIPBlock
			pe.cidr = netip.MustParsePrefix(p.IPBlock.CIDR).Masked()
			for _, e := range p.IPBlock.Except {
				pe.except = append(pe.except, netip.MustParsePrefix(e).Masked())
			}
		case p.PodSelector != nil && p.NamespaceSelector != nil:
			pe.kind = peerAnd
		case p.PodSelector != nil:
			pe.kind = peerPod
		default:
			pe.kind = peerNS
		}
		if p.PodSelector != nil {
			pe.podSel = mustSelector(p.PodSelector)
			pe.podKey = pe.podSel.String()
		}
		if p.NamespaceSelector != nil {
			pe.nsSel = mustSelector(p.NamespaceSelector)
			pe.nsKey = pe.nsSel.String()
		}
		ri.peers = append(ri.peers, pe)
	}
	for _, p := range ports {
		pi := portInfo{protocol: corev1.ProtocolTCP}
		if p.Protocol != nil {
			pi.protocol = *p.Protocol
		}
		switch {
		case p.Port == nil:
			pi.any = true
		case p.Port.Type == intstr.String:
			pi.name = p.Port.StrVal
		default:
			pi.number = p.Port.IntVal
			if p.EndPort != nil {
				pi.end = *p.EndPort
			}
		}
		ri.ports = append(ri.ports, pi)
	}
	return ri
}

// mustSelector converts a selector Validate has accepted.
func mustSelector(sel *metav1.LabelSelector) labels.Selector {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return labels.Nothing() // unreachable after Validate
	}
	return s
}

// ipBlockContains is NP-IPBLOCK: inside cidr and inside no except.
func (pe *peerInfo) ipBlockContains(addr netip.Addr) bool {
	if !addr.IsValid() || !pe.cidr.Contains(addr) {
		return false
	}
	for _, e := range pe.except {
		if e.Contains(addr) {
			return false
		}
	}
	return true
}
