package fabric

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Addressing plan. Node i (0-based) is called node-<i+1>, has the IP
// 10.242.0.<i+1> on the shared bridge and owns the pod CIDR 10.244.<i+1>.0/24;
// the first address of each pod CIDR is the pods' gateway on the node side.
//
// With WithIPv6, node i also has fd00:10:242::<i+1>/64 and the pod CIDR
// fd00:10:244:<i+1>::/64 with gateway fd00:10:244:<i+1>::1.
var (
	nodeSubnet   = netip.MustParsePrefix("10.242.0.0/24")
	podSupernet  = netip.MustParsePrefix("10.244.0.0/16")
	nodeSubnet6  = netip.MustParsePrefix("fd00:10:242::/64")
	podSupernet6 = netip.MustParsePrefix("fd00:10:244::/48")
)

// maxNodes keeps node indexes inside the /24 node subnet and /16 pod supernet.
const maxNodes = 200

// nodeUplink is the name of a node's bridge-facing interface. It exists only
// inside the node namespace, never in the host namespace.
const nodeUplink = "eth0"

// Node is one node of the fabric: a network namespace with routes to every
// other node's pods.
type Node struct {
	Index   int          // 0-based position in the fabric
	Name    string       // Kubernetes-style node name: node-1, node-2, ...
	NetNS   string       // network namespace name (see NetNSPath)
	IP      netip.Addr   // address on the shared bridge
	PodCIDR netip.Prefix // the node's pod range
	Gateway netip.Addr   // the address pods use as their default gateway

	// IPv6 counterparts, valid only in a fabric built WithIPv6.
	IPv6        netip.Addr
	PodCIDRv6   netip.Prefix
	GatewayIPv6 netip.Addr
}

// Option adjusts New.
type Option func(*Fabric)

// WithIPv6 makes the fabric dual-stack: nodes and pods get an IPv6 address
// besides the IPv4 one, with the same ptp routing.
func WithIPv6() Option { return func(f *Fabric) { f.ipv6 = true } }

// Fabric is a set of node namespaces joined by a bridge in a switch namespace,
// with pods attached to nodes by routed veth pairs.
type Fabric struct {
	prefix   string
	switchNS string
	nodes    []Node
	ipv6     bool

	mu      sync.Mutex
	podSeq  int
	pods    map[string]*PodNS       // by netns name
	usedIPs map[netip.Addr]struct{} // pod IPs in use, all nodes
}

// New creates the switch namespace, the bridge and nodes node namespaces, all
// named with prefix (2-9 characters of [a-z0-9-]; pick one unique per run, e.g.
// "npc-x7k2-", so CleanupPrefix("npc-") can remove leftovers of killed runs).
// On error everything created so far is removed.
func New(ctx context.Context, prefix string, nodes int, opts ...Option) (*Fabric, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	if nodes < 1 || nodes > maxNodes {
		return nil, fmt.Errorf("fabric %q: node count %d out of range 1..%d", prefix, nodes, maxNodes)
	}
	f := &Fabric{
		prefix:   prefix,
		switchNS: prefix + "switch",
		pods:     map[string]*PodNS{},
		usedIPs:  map[netip.Addr]struct{}{},
	}
	for _, opt := range opts {
		opt(f)
	}
	for i := range nodes {
		f.nodes = append(f.nodes, nodeAt(prefix, i, f.ipv6))
	}
	if err := f.build(ctx); err != nil {
		if cleanupErr := f.Destroy(context.WithoutCancel(ctx)); cleanupErr != nil {
			err = errors.Join(err, cleanupErr)
		}
		return nil, fmt.Errorf("build fabric %q: %w", prefix, err)
	}
	return f, nil
}

func nodeAt(prefix string, i int, ipv6 bool) Node {
	nodeBase := nodeSubnet.Addr().As4()
	nodeBase[3] = byte(i + 1)
	podBase := podSupernet.Addr().As4()
	podBase[2] = byte(i + 1)
	cidr := netip.PrefixFrom(netip.AddrFrom4(podBase), 24)
	name := fmt.Sprintf("node-%d", i+1)
	n := Node{
		Index:   i,
		Name:    name,
		NetNS:   prefix + name,
		IP:      netip.AddrFrom4(nodeBase),
		PodCIDR: cidr,
		Gateway: cidr.Addr().Next(),
	}
	if ipv6 {
		node6 := nodeSubnet6.Addr().As16()
		node6[15] = byte(i + 1)
		pod6 := podSupernet6.Addr().As16()
		pod6[7] = byte(i + 1)
		n.IPv6 = netip.AddrFrom16(node6)
		n.PodCIDRv6 = netip.PrefixFrom(netip.AddrFrom16(pod6), 64)
		n.GatewayIPv6 = n.PodCIDRv6.Addr().Next()
	}
	return n
}

// IPv6Enabled reports whether the fabric is dual-stack.
func (f *Fabric) IPv6Enabled() bool { return f.ipv6 }

// nodadAddr is an address without duplicate address detection, so IPv6
// addresses are usable at once (no "tentative" phase).
func nodadAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// Prefix returns the prefix every name of this fabric starts with.
func (f *Fabric) Prefix() string { return f.prefix }

// SwitchNetNS returns the name of the namespace holding the bridge.
func (f *Fabric) SwitchNetNS() string { return f.switchNS }

// Nodes returns a copy of the node list.
func (f *Fabric) Nodes() []Node { return append([]Node(nil), f.nodes...) }

// Node returns node i (0-based).
func (f *Fabric) Node(i int) (Node, error) {
	if i < 0 || i >= len(f.nodes) {
		return Node{}, fmt.Errorf("fabric %q has no node index %d (nodes: %d)", f.prefix, i, len(f.nodes))
	}
	return f.nodes[i], nil
}

// NodeByName returns the node called name (node-1, node-2, ...).
func (f *Fabric) NodeByName(name string) (Node, error) {
	for _, n := range f.nodes {
		if n.Name == name {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("fabric %q has no node named %q", f.prefix, name)
}

func (f *Fabric) build(ctx context.Context) error {
	if err := newNamedNetNS(f.switchNS); err != nil {
		return err
	}
	bridgeName, err := linkName(f.prefix, "br")
	if err != nil {
		return err
	}
	err = withHandle(f.switchNS, func(h *netlink.Handle) error {
		if err := setLoUp(h); err != nil {
			return err
		}
		bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
		if err := h.LinkAdd(bridge); err != nil {
			return fmt.Errorf("add bridge %s: %w", bridgeName, err)
		}
		return h.LinkSetUp(bridge)
	})
	if err != nil {
		return fmt.Errorf("switch namespace %s: %w", f.switchNS, err)
	}
	for _, node := range f.nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.buildNode(node, bridgeName); err != nil {
			return fmt.Errorf("node %s: %w", node.Name, err)
		}
	}
	return nil
}

func (f *Fabric) buildNode(node Node, bridgeName string) error {
	if err := newNamedNetNS(node.NetNS); err != nil {
		return err
	}
	// Before any interface exists: "default" settings apply to new ones.
	if err := Do(node.NetNS, configureNodeSysctls); err != nil {
		return err
	}
	switchPort, err := linkName(f.prefix, fmt.Sprintf("s%d", node.Index+1))
	if err != nil {
		return err
	}
	nodeHandle, err := netns.GetFromName(node.NetNS)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", node.NetNS, err)
	}
	defer nodeHandle.Close()

	// The veth is created in the switch namespace with its peer placed directly
	// in the node namespace: no interface of ours ever appears on the host.
	err = withHandle(f.switchNS, func(h *netlink.Handle) error {
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: switchPort},
			PeerName:      nodeUplink,
			PeerNamespace: netlink.NsFd(int(nodeHandle)),
		}
		if err := h.LinkAdd(veth); err != nil {
			return fmt.Errorf("add veth %s: %w", switchPort, err)
		}
		bridge, err := h.LinkByName(bridgeName)
		if err != nil {
			return fmt.Errorf("find bridge %s: %w", bridgeName, err)
		}
		if err := h.LinkSetMaster(veth, bridge); err != nil {
			return fmt.Errorf("attach %s to %s: %w", switchPort, bridgeName, err)
		}
		return h.LinkSetUp(veth)
	})
	if err != nil {
		return err
	}
	err = withHandle(node.NetNS, func(h *netlink.Handle) error {
		if err := setLoUp(h); err != nil {
			return err
		}
		uplink, err := h.LinkByName(nodeUplink)
		if err != nil {
			return fmt.Errorf("find %s: %w", nodeUplink, err)
		}
		addr := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(node.IP, nodeSubnet.Bits()))}
		if err := h.AddrAdd(uplink, addr); err != nil {
			return fmt.Errorf("address %s on %s: %w", node.IP, nodeUplink, err)
		}
		if f.ipv6 {
			if err := h.AddrAdd(uplink, nodadAddr(netip.PrefixFrom(node.IPv6, nodeSubnet6.Bits()))); err != nil {
				return fmt.Errorf("address %s on %s: %w", node.IPv6, nodeUplink, err)
			}
		}
		if err := h.LinkSetUp(uplink); err != nil {
			return fmt.Errorf("set %s up: %w", nodeUplink, err)
		}
		for _, other := range f.nodes {
			if other.Index == node.Index {
				continue
			}
			route := &netlink.Route{
				LinkIndex: uplink.Attrs().Index,
				Dst:       ipNet(other.PodCIDR),
				Gw:        other.IP.AsSlice(),
			}
			if err := h.RouteAdd(route); err != nil {
				return fmt.Errorf("route %s via %s: %w", other.PodCIDR, other.IP, err)
			}
			if f.ipv6 {
				route6 := &netlink.Route{
					LinkIndex: uplink.Attrs().Index,
					Dst:       ipNet(other.PodCIDRv6),
					Gw:        other.IPv6.AsSlice(),
				}
				if err := h.RouteAdd(route6); err != nil {
					return fmt.Errorf("route %s via %s: %w", other.PodCIDRv6, other.IPv6, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return nil
}

// nodeSysctls are written from inside each node namespace (they are per
// namespace). The ICMP rate limits are lifted because a REJECTed probe must be
// answered every time: with the kernel default (one error per second and peer
// after a burst of six), repeated probes would see timeouts instead of
// "rejected".
type sysctl struct {
	path, value string
	optional    bool // not per-namespace on every kernel
}

var nodeSysctls = []sysctl{
	{"/proc/sys/net/ipv4/ip_forward", "1", false},
	{"/proc/sys/net/ipv6/conf/all/forwarding", "1", true},
	// No duplicate address detection: link-local addresses, which neighbour
	// discovery needs, are usable as soon as a link is up.
	{"/proc/sys/net/ipv6/conf/default/accept_dad", "0", true},
	{"/proc/sys/net/ipv6/conf/all/accept_dad", "0", true},
	{"/proc/sys/net/ipv4/icmp_ratelimit", "0", false},
	{"/proc/sys/net/ipv6/icmp/ratelimit", "0", true},
	{"/proc/sys/net/ipv4/icmp_msgs_per_sec", "1000000", true},
	{"/proc/sys/net/ipv4/icmp_msgs_burst", "1000000", true},
}

func configureNodeSysctls() error { return writeSysctls(nodeSysctls) }

// configurePodSysctls lifts the same ICMP limits in pods, which answer closed
// UDP ports with ICMP port unreachable ("refused").
func configurePodSysctls() error {
	var list []sysctl
	for _, s := range nodeSysctls {
		if !strings.HasSuffix(s.path, "forward") && !strings.HasSuffix(s.path, "forwarding") {
			list = append(list, s)
		}
	}
	return writeSysctls(list)
}

func writeSysctls(list []sysctl) error {
	for _, s := range list {
		if err := os.WriteFile(s.path, []byte(s.value+"\n"), 0o644); err != nil && !s.optional {
			return fmt.Errorf("set %s=%s: %w", s.path, s.value, err)
		}
	}
	return nil
}

// Destroy removes every namespace of the fabric (pods, nodes, switch); the
// links inside them go with them. Processes still running inside a namespace
// keep it alive until they exit: stop them first.
func (f *Fabric) Destroy(ctx context.Context) error {
	f.mu.Lock()
	var names []string
	for name := range f.pods {
		names = append(names, name)
	}
	f.pods = map[string]*PodNS{}
	f.usedIPs = map[netip.Addr]struct{}{}
	f.mu.Unlock()
	for _, n := range f.nodes {
		names = append(names, n.NetNS)
	}
	names = append(names, f.switchNS)
	var errs []error
	for _, name := range names {
		if err := deleteNetNS(name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := CleanupPrefix(ctx, f.prefix); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func withHandle(netnsName string, fn func(h *netlink.Handle) error) error {
	nsHandle, err := netns.GetFromName(netnsName)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", netnsName, err)
	}
	defer nsHandle.Close()
	h, err := netlink.NewHandleAt(nsHandle)
	if err != nil {
		return fmt.Errorf("netlink handle in %s: %w", netnsName, err)
	}
	defer h.Close()
	return fn(h)
}

func setLoUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
