package model

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// protocols lists the protocols NetworkPolicy knows, in the order tables use.
var protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

func protocolRank(p corev1.Protocol) int {
	for i, q := range protocols {
		if p == q {
			return i
		}
	}
	return len(protocols)
}

// DefaultPorts returns the ports of the default topology: 80 and 81 on TCP,
// UDP and SCTP, ordered by port, then protocol.
func DefaultPorts() []PortProtocol {
	var out []PortProtocol
	for _, port := range []int32{80, 81} {
		for _, proto := range protocols {
			out = append(out, PortProtocol{Port: port, Protocol: proto})
		}
	}
	return out
}

// DefaultPortName is the container port name the default topology uses:
// serve-<port>-<protocol in lower case>, e.g. serve-80-tcp.
func DefaultPortName(pp PortProtocol) string {
	return fmt.Sprintf("serve-%d-%s", pp.Port, strings.ToLower(string(pp.Protocol)))
}

// DefaultTopology returns the upstream e2e topology: namespaces x, y and z,
// each with pods a, b and c labelled pod=<name>, serving DefaultPorts. Pods
// alternate between two nodes and get fixed IPs, so ipBlock cases evaluate
// offline the same way every time.
func DefaultTopology() *Topology {
	topo := &Topology{
		Namespaces: map[string]Namespace{},
		Nodes: []Node{
			{Name: "node-1", IPs: []string{"172.18.0.2"}},
			{Name: "node-2", IPs: []string{"172.18.0.3"}},
		},
	}
	var ports []ContainerPort
	for _, pp := range DefaultPorts() {
		ports = append(ports, ContainerPort{Name: DefaultPortName(pp), Port: pp.Port, Protocol: pp.Protocol})
	}
	i := 0
	for _, ns := range []string{"x", "y", "z"} {
		topo.Namespaces[ns] = Namespace{Labels: map[string]string{"ns": ns}}
		for _, name := range []string{"a", "b", "c"} {
			node := 1 + i%2
			topo.Pods = append(topo.Pods, Pod{
				Namespace: ns,
				Name:      name,
				Labels:    map[string]string{"pod": name},
				Node:      fmt.Sprintf("node-%d", node),
				IP:        fmt.Sprintf("10.244.%d.%d", node, 10+i),
				Ports:     append([]ContainerPort(nil), ports...),
			})
			i++
		}
	}
	return topo
}

// PortProtocols returns every port and protocol some pod of the topology
// serves, ordered by port, then protocol (TCP, UDP, SCTP). A port without a
// protocol is TCP.
func (t *Topology) PortProtocols() []PortProtocol {
	seen := map[PortProtocol]bool{}
	var out []PortProtocol
	for _, pod := range t.Pods {
		for _, cp := range pod.Ports {
			pp := PortProtocol{Port: cp.Port, Protocol: defaultProtocol(cp.Protocol)}
			if !seen[pp] {
				seen[pp] = true
				out = append(out, pp)
			}
		}
	}
	SortPorts(out)
	return out
}

// Serves says whether the pod declares a container port with this number and
// protocol (a port without a protocol is TCP).
func (p Pod) Serves(pp PortProtocol) bool {
	for _, cp := range p.Ports {
		if cp.Port == pp.Port && defaultProtocol(cp.Protocol) == pp.Protocol {
			return true
		}
	}
	return false
}

// SortPorts orders ports by number, then protocol (TCP, UDP, SCTP).
func SortPorts(ports []PortProtocol) {
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].Port != ports[j].Port {
			return ports[i].Port < ports[j].Port
		}
		return protocolRank(ports[i].Protocol) < protocolRank(ports[j].Protocol)
	})
}

// ParsePortProtocol reads "80/TCP" (or "80", meaning TCP).
func ParsePortProtocol(s string) (PortProtocol, error) {
	num, proto, found := strings.Cut(s, "/")
	var pp PortProtocol
	if _, err := fmt.Sscanf(num, "%d", &pp.Port); err != nil || pp.Port < 1 || pp.Port > 65535 || fmt.Sprint(pp.Port) != num {
		return pp, fmt.Errorf("port %q: want a number from 1 to 65535", num)
	}
	pp.Protocol = corev1.ProtocolTCP
	if found {
		p, err := ParseProtocol(proto)
		if err != nil {
			return pp, err
		}
		pp.Protocol = p
	}
	return pp, nil
}

// ParseProtocol reads TCP, UDP or SCTP, in any case.
func ParseProtocol(s string) (corev1.Protocol, error) {
	p := corev1.Protocol(strings.ToUpper(s))
	if protocolRank(p) == len(protocols) {
		return "", fmt.Errorf("protocol %q: want TCP, UDP or SCTP", s)
	}
	return p, nil
}

// ParsePodRef reads "namespace/name".
func ParsePodRef(s string) (PodRef, error) {
	ns, name, found := strings.Cut(s, "/")
	if !found || ns == "" || name == "" || strings.Contains(name, "/") {
		return PodRef{}, fmt.Errorf("pod %q: want namespace/name", s)
	}
	return PodRef{Namespace: ns, Name: name}, nil
}

func defaultProtocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
