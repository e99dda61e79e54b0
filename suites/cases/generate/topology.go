package generate

import (
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Generated cases run on small topologies: a round of probes costs
// pods² x ports, and a thousand cases run many rounds. Two namespaces of
// two pods tell every selector form apart; the pods' addresses lie in
// their node's pod range, so the netns cluster gives the same ones and the
// model's offline reading of an ipBlock is the cluster's.

// nodes are the nodes of every generated topology: a case needs two, so
// that traffic also crosses nodes.
var nodes = []model.Node{{Name: "node-1", IPs: []string{"172.18.0.2"}}, {Name: "node-2", IPs: []string{"172.18.0.3"}}}

// podSpec is a pod before it serves any port.
type podSpec struct {
	ns, name string
	labels   map[string]string
	node     int // 1 or 2
}

// smallPods is the combinatorial family's topology: namespaces x (team
// blue) and y; in each, pods a and b, one of them role=web, spread over
// both nodes.
var smallPods = []podSpec{
	{"x", "a", map[string]string{"pod": "a", "role": "web"}, 1},
	{"x", "b", map[string]string{"pod": "b"}, 2},
	{"y", "a", map[string]string{"pod": "a"}, 2},
	{"y", "b", map[string]string{"pod": "b", "role": "web"}, 1},
}

var smallNamespaces = map[string]map[string]string{
	"x": {"ns": "x", "team": "blue"},
	"y": {"ns": "y"},
}

// topology builds the namespaces and pods, each pod serving every probe
// port under its default name.
func topology(namespaces map[string]map[string]string, pods []podSpec, serve []model.PortProtocol) *model.Topology {
	t := &model.Topology{Namespaces: map[string]model.Namespace{}, Nodes: append([]model.Node(nil), nodes...)}
	for name, labels := range namespaces {
		t.Namespaces[name] = model.Namespace{Labels: maps.Clone(labels)}
	}
	for i, p := range pods {
		t.Pods = append(t.Pods, model.Pod{
			Namespace: p.ns, Name: p.name, Labels: maps.Clone(p.labels),
			Node: fmt.Sprintf("node-%d", p.node), IP: fmt.Sprintf("10.244.%d.%d", p.node, 10+i),
			Ports: containerPorts(serve),
		})
	}
	return t
}

// containerPorts serves each port under its default name, serve-80-tcp.
func containerPorts(serve []model.PortProtocol) []model.ContainerPort {
	var out []model.ContainerPort
	for _, pp := range serve {
		out = append(out, model.ContainerPort{Name: model.DefaultPortName(pp), Port: pp.Port, Protocol: pp.Protocol})
	}
	return out
}

// probeSet lists ports x protocols, ordered as tables order them.
func probeSet(ports []int32, protocols ...corev1.Protocol) []model.PortProtocol {
	var out []model.PortProtocol
	for _, port := range ports {
		for _, proto := range protocols {
			out = append(out, model.PortProtocol{Port: port, Protocol: proto})
		}
	}
	model.SortPorts(out)
	return out
}

// lower is a protocol as port names write it.
func lower(p corev1.Protocol) string { return strings.ToLower(string(p)) }
