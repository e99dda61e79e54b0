package enforcer

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// portMatch is one protocol/port condition of an allow line. An empty
// protocol means any protocol and port; an empty dport means every port of
// the protocol.
type portMatch struct {
	protocol string // "tcp", "udp", "sctp" or ""
	dport    string // "80", "8000:8080" or ""
}

var anyPort = portMatch{}

func iptablesProtocol(p *corev1.Protocol) (string, bool) {
	if p == nil {
		return "tcp", true // the API default
	}
	switch *p {
	case corev1.ProtocolTCP, "":
		return "tcp", true
	case corev1.ProtocolUDP:
		return "udp", true
	case corev1.ProtocolSCTP:
		return "sctp", true
	}
	return "", false
}

func hasNamedPort(ports []networkingv1.NetworkPolicyPort) bool {
	for _, p := range ports {
		if p.Port != nil && p.Port.Type == intstr.String {
			return true
		}
	}
	return false
}

// resolvePorts turns a rule's port list into matches for traffic to dest.
// Named ports resolve against dest's container ports of the same protocol;
// with dest nil (a destination that is not a known pod) they match nothing.
// Entries that are invalid or unresolvable produce nothing, so a rule whose
// every entry fails matches no traffic at all: it never widens. A mutant (m;
// kill-rate test only) resolves the way its bug does.
func resolvePorts(ports []networkingv1.NetworkPolicyPort, dest *corev1.Pod, m Mutant) []portMatch {
	if m == MutantNamedPortsDropped {
		ports = mutantWithoutNamedPorts(ports) // Mutant: a rule left with no port admits all.
	}
	if len(ports) == 0 {
		return []portMatch{anyPort}
	}
	var out []portMatch
	for _, p := range ports {
		proto, ok := iptablesProtocol(p.Protocol)
		if !ok {
			continue
		}
		if m == MutantSCTPAsTCP && proto == "sctp" {
			proto = "tcp" // Mutant.
		}
		if m == MutantSCTPPortIgnored && proto == "sctp" {
			out = append(out, portMatch{protocol: proto}) // Mutant.
			continue
		}
		switch {
		case p.Port == nil:
			if p.EndPort != nil {
				continue // endPort needs a start port
			}
			if m == MutantProtocolOnlyAnyProtocol {
				out = append(out, anyPort) // Mutant.
				continue
			}
			out = append(out, portMatch{protocol: proto})
		case p.Port.Type == intstr.Int:
			start := p.Port.IntVal
			if start < 1 || start > 65535 {
				continue
			}
			if p.EndPort == nil {
				out = append(out, portMatch{protocol: proto, dport: strconv.Itoa(int(start))})
				continue
			}
			end := *p.EndPort
			if end < start || end > 65535 {
				continue
			}
			if m == MutantEndPortOffByOne && end > start {
				end-- // Mutant: endPort read as exclusive.
			}
			if end == start {
				out = append(out, portMatch{protocol: proto, dport: strconv.Itoa(int(start))})
				continue
			}
			out = append(out, portMatch{protocol: proto, dport: strconv.Itoa(int(start)) + ":" + strconv.Itoa(int(end))})
		default:
			if p.EndPort != nil || dest == nil {
				continue // endPort is only valid with numeric ports
			}
			number, found := namedContainerPort(dest, p.Port.StrVal, proto)
			if m == MutantNamedPortAnyProtocol {
				number, found = mutantNamedPortAnyProtocol(dest, p.Port.StrVal) // Mutant.
			}
			if found {
				out = append(out, portMatch{protocol: proto, dport: strconv.Itoa(int(number))})
			}
		}
	}
	return out
}

func namedContainerPort(p *corev1.Pod, name, proto string) (int32, bool) {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			cpProto, ok := iptablesProtocol(&cp.Protocol)
			if ok && cp.Name == name && cpProto == proto && cp.ContainerPort > 0 {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// maxMultiportSlots is the multiport match's limit: 15 ports, a range
// counting as two.
const maxMultiportSlots = 15

// groupPorts merges the port matches of one peer into as few matches as
// possible: any-protocol swallows everything, a protocol without port
// swallows that protocol's ports, and the remaining ports of one protocol
// share multiport matches. Order follows first appearance.
func groupPorts(matches []portMatch) []portArgs {
	var protocols []string
	ports := map[string][]string{}
	allPorts := map[string]bool{}
	for _, m := range matches {
		if m.protocol == "" {
			return []portArgs{""}
		}
		if _, seen := ports[m.protocol]; !seen && !allPorts[m.protocol] {
			protocols = append(protocols, m.protocol)
		}
		if m.dport == "" {
			allPorts[m.protocol] = true
			ports[m.protocol] = nil
			continue
		}
		if !allPorts[m.protocol] && !slices.Contains(ports[m.protocol], m.dport) {
			ports[m.protocol] = append(ports[m.protocol], m.dport)
		}
	}
	var out []portArgs
	for _, proto := range protocols {
		if allPorts[proto] {
			out = append(out, portArgs("-p "+proto))
			continue
		}
		var chunk []string
		slots := 0
		flush := func() {
			switch len(chunk) {
			case 0:
			case 1:
				out = append(out, portArgs("-p "+proto+" -m "+proto+" --dport "+chunk[0]))
			default:
				out = append(out, portArgs("-p "+proto+" -m multiport --dports "+strings.Join(chunk, ",")))
			}
			chunk, slots = nil, 0
		}
		for _, dport := range ports[proto] {
			cost := 1
			if strings.Contains(dport, ":") {
				cost = 2
			}
			if slots+cost > maxMultiportSlots {
				flush()
			}
			chunk = append(chunk, dport)
			slots += cost
		}
		flush()
	}
	return out
}

// portArgs is the protocol/port part of an allow line ("" = any).
type portArgs string
