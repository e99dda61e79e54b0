package model

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// TopologyError is a problem with one element of a topology. Field is a path
// such as "pods[3].ip" or "namespaces.x", so file loaders can point at a line.
type TopologyError struct {
	Field  string
	Detail string
}

func (e *TopologyError) Error() string { return e.Field + ": " + e.Detail }

// Validate checks that the topology is self-consistent: pods live in known
// namespaces, names are unique, addresses parse, ports are valid.
func (t *Topology) Validate() error {
	_, err := newWorld(t)
	return err
}

// world is a validated, indexed copy of a Topology: pods sorted by
// namespace/name, labels as sets, addresses parsed.
type world struct {
	pods     []Pod // sorted; ports carry explicit protocols
	index    map[PodRef]int
	podIP    []netip.Addr // primary address; invalid when the pod has none
	podIPs   [][]netip.Addr
	podSet   []labels.Set
	nsNames  []string
	nsLabels map[string]labels.Set // includes NamespaceNameLabel
	nodeIPs  map[string][]netip.Addr
}

func newWorld(t *Topology) (*world, error) {
	if t == nil {
		return nil, &TopologyError{Field: "topology", Detail: "is nil"}
	}
	w := &world{
		index:    map[PodRef]int{},
		nsLabels: map[string]labels.Set{},
		nodeIPs:  map[string][]netip.Addr{},
	}
	for name, ns := range t.Namespaces {
		path := "namespaces." + name
		if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
			return nil, &TopologyError{Field: path, Detail: fmt.Sprintf("invalid namespace name %q: %s", name, msgs[0])}
		}
		set := labels.Set{}
		for k, v := range ns.Labels {
			if err := validLabel(k, v); err != nil {
				return nil, &TopologyError{Field: path + ".labels", Detail: err.Error()}
			}
			set[k] = v
		}
		set[NamespaceNameLabel] = name // the API server enforces it
		w.nsLabels[name] = set
		w.nsNames = append(w.nsNames, name)
	}
	sort.Strings(w.nsNames)

	for i, node := range t.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		if node.Name == "" {
			return nil, &TopologyError{Field: path + ".name", Detail: "node has no name"}
		}
		if _, dup := w.nodeIPs[node.Name]; dup {
			return nil, &TopologyError{Field: path + ".name", Detail: fmt.Sprintf("duplicate node %q", node.Name)}
		}
		addrs := []netip.Addr{}
		for j, s := range node.IPs {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, &TopologyError{Field: fmt.Sprintf("%s.ips[%d]", path, j), Detail: fmt.Sprintf("invalid IP %q", s)}
			}
			addrs = append(addrs, a.Unmap())
		}
		w.nodeIPs[node.Name] = addrs
	}

	order := make([]int, len(t.Pods))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := t.Pods[order[a]], t.Pods[order[b]]
		if pa.Namespace != pb.Namespace {
			return pa.Namespace < pb.Namespace
		}
		return pa.Name < pb.Name
	})
	for _, i := range order {
		pod, err := w.normalizePod(t.Pods[i], fmt.Sprintf("pods[%d]", i), len(t.Nodes) > 0)
		if err != nil {
			return nil, err
		}
		ref := pod.Ref()
		if _, dup := w.index[ref]; dup {
			return nil, &TopologyError{Field: fmt.Sprintf("pods[%d]", i), Detail: fmt.Sprintf("duplicate pod %s", ref)}
		}
		w.index[ref] = len(w.pods)
		w.pods = append(w.pods, pod)
		var addrs []netip.Addr
		for _, s := range append([]string{pod.IP}, pod.IPs...) {
			if s != "" {
				a, _ := netip.ParseAddr(s) // checked by normalizePod
				addrs = append(addrs, a.Unmap())
			}
		}
		var primary netip.Addr
		if len(addrs) > 0 {
			primary = addrs[0]
		}
		w.podIP = append(w.podIP, primary)
		w.podIPs = append(w.podIPs, addrs)
		w.podSet = append(w.podSet, labels.Set(pod.Labels))
	}
	return w, nil
}

// normalizePod checks one pod and returns a copy with defaults filled in:
// port protocols, and the node's address for a hostNetwork pod without one.
func (w *world) normalizePod(p Pod, path string, nodesListed bool) (Pod, error) {
	bad := func(field, format string, args ...any) (Pod, error) {
		return Pod{}, &TopologyError{Field: path + field, Detail: fmt.Sprintf("%s/%s: ", p.Namespace, p.Name) + fmt.Sprintf(format, args...)}
	}
	if p.Name == "" {
		return bad(".name", "pod has no name")
	}
	if _, ok := w.nsLabels[p.Namespace]; !ok {
		return bad(".namespace", "unknown namespace %q", p.Namespace)
	}
	for k, v := range p.Labels {
		if err := validLabel(k, v); err != nil {
			return bad(".labels", "%v", err)
		}
	}
	if p.Node != "" && nodesListed {
		if _, ok := w.nodeIPs[p.Node]; !ok {
			return bad(".node", "unknown node %q", p.Node)
		}
	}
	switch p.Phase {
	case "", corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown:
	default:
		return bad(".phase", "unknown phase %q", p.Phase)
	}
	if p.IP != "" {
		if _, err := netip.ParseAddr(p.IP); err != nil {
			return bad(".ip", "invalid IP %q", p.IP)
		}
	}
	for j, s := range p.IPs {
		if _, err := netip.ParseAddr(s); err != nil {
			return bad(fmt.Sprintf(".ips[%d]", j), "invalid IP %q", s)
		}
	}
	if p.IP == "" && len(p.IPs) > 0 {
		p.IP, p.IPs = p.IPs[0], p.IPs[1:]
	}
	if p.HostNetwork && p.IP == "" {
		if addrs := w.nodeIPs[p.Node]; len(addrs) > 0 {
			p.IP = addrs[0].String()
		}
	}
	ports := make([]ContainerPort, 0, len(p.Ports))
	names := map[string]bool{}
	for j, cp := range p.Ports {
		field := fmt.Sprintf(".ports[%d]", j)
		cp.Protocol = defaultProtocol(cp.Protocol)
		if protocolRank(cp.Protocol) == len(protocols) {
			return bad(field+".protocol", "unsupported protocol %q", cp.Protocol)
		}
		if cp.Port < 1 || cp.Port > 65535 {
			return bad(field+".port", "port %d out of range 1-65535", cp.Port)
		}
		if cp.Name != "" {
			if msgs := validation.IsValidPortName(cp.Name); len(msgs) > 0 {
				return bad(field+".name", "invalid port name %q: %s", cp.Name, msgs[0])
			}
			if names[cp.Name] {
				return bad(field+".name", "duplicate port name %q", cp.Name)
			}
			names[cp.Name] = true
		}
		ports = append(ports, cp)
	}
	p.Ports = ports
	return p, nil
}

func validLabel(key, value string) error {
	if msgs := validation.IsQualifiedName(key); len(msgs) > 0 {
		return fmt.Errorf("invalid label key %q: %s", key, msgs[0])
	}
	if msgs := validation.IsValidLabelValue(value); len(msgs) > 0 {
		return fmt.Errorf("invalid label value %q for %q: %s", value, key, msgs[0])
	}
	return nil
}

// lookup finds a pod, saying whether the namespace or the pod is unknown.
func (w *world) lookup(ref PodRef) (int, error) {
	if i, ok := w.index[ref]; ok {
		return i, nil
	}
	if _, ok := w.nsLabels[ref.Namespace]; !ok {
		return -1, fmt.Errorf("unknown namespace %q (pod %s)", ref.Namespace, ref)
	}
	return -1, fmt.Errorf("unknown pod %s", ref)
}

// peerEligible is NP-PHASE: a pod that selector-based peers can match has an
// IP and is not Succeeded or Failed.
func (w *world) peerEligible(i int) bool {
	p := w.pods[i]
	return w.podIP[i].IsValid() && p.Phase != corev1.PodSucceeded && p.Phase != corev1.PodFailed
}

// resolveNamedPort finds the number of a pod's container port by name and
// protocol (NP-NAMED); ok is false when the pod has no such port.
func (w *world) resolveNamedPort(i int, name string, proto corev1.Protocol) (int32, bool) {
	for _, cp := range w.pods[i].Ports {
		if cp.Name == name && cp.Protocol == proto {
			return cp.Port, true
		}
	}
	return 0, false
}

// onNode reports whether addr is one of the node's addresses.
func (w *world) onNode(node string, addr netip.Addr) bool {
	if node == "" {
		return false
	}
	for _, a := range w.nodeIPs[node] {
		if a == addr {
			return true
		}
	}
	return false
}
