package fabric

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// podInterface is the pod's side of its veth, named as in a real pod. It is
// created directly inside the pod namespace.
const podInterface = "eth0"

// PodNS is a pod's network namespace, attached to its node by a routed veth.
type PodNS struct {
	Name     string     // the caller's pod name (free text)
	Node     int        // index of the node it is attached to
	NetNS    string     // network namespace name (see NetNSPath)
	IP       netip.Addr // the pod's /32 on eth0
	IPv6     netip.Addr // the pod's /128 on eth0 (dual-stack fabrics only)
	HostVeth string     // node-side veth name, inside the node namespace
}

// PodOption adjusts AddPod.
type PodOption func(*podConfig)

type podConfig struct {
	ip netip.Addr
}

// WithPodIP asks for a specific IP, which must lie inside the node's pod CIDR
// and not be the gateway, the network or the broadcast address.
func WithPodIP(ip netip.Addr) PodOption {
	return func(c *podConfig) { c.ip = ip }
}

// AddPod creates a pod namespace on node (0-based index) with eth0 holding a
// /32 from the node's pod CIDR, a link-scope route to the node-side gateway
// and a default route through it; on the node, a /32 route points at the
// node-side veth (ptp style, so traffic between pods is routed by the node and
// crosses its FORWARD chain).
func (f *Fabric) AddPod(ctx context.Context, node int, podName string, opts ...PodOption) (*PodNS, error) {
	n, err := f.Node(node)
	if err != nil {
		return nil, err
	}
	var cfg podConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pod, err := f.reservePod(n, podName, cfg)
	if err != nil {
		return nil, err
	}
	if err := f.plumbPod(n, pod); err != nil {
		if cleanupErr := f.DeletePod(context.WithoutCancel(ctx), pod); cleanupErr != nil {
			err = fmt.Errorf("%w (cleanup: %v)", err, cleanupErr)
		}
		return nil, fmt.Errorf("add pod %q on %s: %w", podName, n.Name, err)
	}
	return pod, nil
}

func (f *Fabric) reservePod(n Node, podName string, cfg podConfig) (*PodNS, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ip := cfg.ip
	if ip.IsValid() {
		if !n.PodCIDR.Contains(ip) || ip == n.Gateway || ip == n.PodCIDR.Addr() || ip == lastAddr(n.PodCIDR) {
			return nil, fmt.Errorf("pod %q: IP %s is not a usable pod address of %s (%s)", podName, ip, n.Name, n.PodCIDR)
		}
		if _, taken := f.usedIPs[ip]; taken {
			return nil, fmt.Errorf("pod %q: IP %s is already in use", podName, ip)
		}
	} else {
		for candidate := n.Gateway.Next(); n.PodCIDR.Contains(candidate) && candidate != lastAddr(n.PodCIDR); candidate = candidate.Next() {
			if _, taken := f.usedIPs[candidate]; !taken {
				ip = candidate
				break
			}
		}
		if !ip.IsValid() {
			return nil, fmt.Errorf("pod %q: no free IP left in %s of %s", podName, n.PodCIDR, n.Name)
		}
	}
	f.podSeq++
	hostVeth, err := linkName(f.prefix, fmt.Sprintf("v%d", f.podSeq))
	if err != nil {
		return nil, err
	}
	pod := &PodNS{
		Name:     podName,
		Node:     n.Index,
		NetNS:    netnsNameForPod(f.prefix, f.podSeq, podName),
		IP:       ip,
		HostVeth: hostVeth,
	}
	if f.ipv6 {
		// The IPv6 host part repeats the IPv4 one: 10.244.1.7 <-> fd00:10:244:1::7.
		raw := n.PodCIDRv6.Addr().As16()
		raw[15] = ip.As4()[3]
		pod.IPv6 = netip.AddrFrom16(raw)
	}
	f.usedIPs[ip] = struct{}{}
	f.pods[pod.NetNS] = pod
	return pod, nil
}

func (f *Fabric) plumbPod(n Node, pod *PodNS) error {
	if err := newNamedNetNS(pod.NetNS); err != nil {
		return err
	}
	if err := Do(pod.NetNS, configurePodSysctls); err != nil {
		return err
	}
	podHandle, err := netns.GetFromName(pod.NetNS)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", pod.NetNS, err)
	}
	defer podHandle.Close()

	err = withHandle(n.NetNS, func(h *netlink.Handle) error {
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: pod.HostVeth},
			PeerName:      podInterface,
			PeerNamespace: netlink.NsFd(int(podHandle)),
		}
		if err := h.LinkAdd(veth); err != nil {
			return fmt.Errorf("add veth %s: %w", pod.HostVeth, err)
		}
		link, err := h.LinkByName(pod.HostVeth)
		if err != nil {
			return fmt.Errorf("find %s: %w", pod.HostVeth, err)
		}
		gw := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(n.Gateway, 32))}
		if err := h.AddrAdd(link, gw); err != nil {
			return fmt.Errorf("gateway %s on %s: %w", n.Gateway, pod.HostVeth, err)
		}
		if f.ipv6 {
			if err := h.AddrAdd(link, nodadAddr(netip.PrefixFrom(n.GatewayIPv6, 128))); err != nil {
				return fmt.Errorf("gateway %s on %s: %w", n.GatewayIPv6, pod.HostVeth, err)
			}
		}
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", pod.HostVeth, err)
		}
		// src = node IP: traffic the node itself sends to the pod comes from
		// the node's address, as on a real node.
		route := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       ipNet(netip.PrefixFrom(pod.IP, 32)),
			Scope:     netlink.SCOPE_LINK,
			Src:       n.IP.AsSlice(),
		}
		if err := h.RouteAdd(route); err != nil {
			return fmt.Errorf("route %s dev %s: %w", pod.IP, pod.HostVeth, err)
		}
		if f.ipv6 {
			route6 := &netlink.Route{
				LinkIndex: link.Attrs().Index,
				Dst:       ipNet(netip.PrefixFrom(pod.IPv6, 128)),
				Scope:     netlink.SCOPE_LINK,
				Src:       n.IPv6.AsSlice(),
			}
			if err := h.RouteAdd(route6); err != nil {
				return fmt.Errorf("route %s dev %s: %w", pod.IPv6, pod.HostVeth, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = withHandle(pod.NetNS, func(h *netlink.Handle) error {
		if err := setLoUp(h); err != nil {
			return err
		}
		link, err := h.LinkByName(podInterface)
		if err != nil {
			return fmt.Errorf("find %s: %w", podInterface, err)
		}
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(pod.IP, 32))}); err != nil {
			return fmt.Errorf("address %s on %s: %w", pod.IP, podInterface, err)
		}
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", podInterface, err)
		}
		gwRoute := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       ipNet(netip.PrefixFrom(n.Gateway, 32)),
			Scope:     netlink.SCOPE_LINK,
		}
		if err := h.RouteAdd(gwRoute); err != nil {
			return fmt.Errorf("route to gateway %s: %w", n.Gateway, err)
		}
		defaultRoute := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Gw:        n.Gateway.AsSlice(),
		}
		if err := h.RouteAdd(defaultRoute); err != nil {
			return fmt.Errorf("default route via %s: %w", n.Gateway, err)
		}
		if !f.ipv6 {
			return nil
		}
		if err := h.AddrAdd(link, nodadAddr(netip.PrefixFrom(pod.IPv6, 128))); err != nil {
			return fmt.Errorf("address %s on %s: %w", pod.IPv6, podInterface, err)
		}
		gw6 := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       ipNet(netip.PrefixFrom(n.GatewayIPv6, 128)),
			Scope:     netlink.SCOPE_LINK,
		}
		if err := h.RouteAdd(gw6); err != nil {
			return fmt.Errorf("route to gateway %s: %w", n.GatewayIPv6, err)
		}
		default6 := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       ipNet(netip.MustParsePrefix("::/0")),
			Gw:        n.GatewayIPv6.AsSlice(),
		}
		if err := h.RouteAdd(default6); err != nil {
			return fmt.Errorf("default route via %s: %w", n.GatewayIPv6, err)
		}
		return nil
	})
	return err
}

// DeletePod removes the pod's namespace (its veth pair goes with it, and so
// does the node's /32 route) and frees its IP.
func (f *Fabric) DeletePod(ctx context.Context, pod *PodNS) error {
	if pod == nil {
		return nil
	}
	f.mu.Lock()
	delete(f.pods, pod.NetNS)
	delete(f.usedIPs, pod.IP)
	f.mu.Unlock()
	if err := deleteNetNS(pod.NetNS); err != nil {
		return fmt.Errorf("delete pod %q: %w", pod.Name, err)
	}
	// The veth normally dies with the pod namespace; removing the node side
	// explicitly covers a pod namespace kept alive by a lingering process.
	return withHandle(f.nodes[pod.Node].NetNS, func(h *netlink.Handle) error {
		link, err := h.LinkByName(pod.HostVeth)
		if err != nil {
			return nil
		}
		// The kernel may finish tearing the pair down between the lookup and
		// the delete: a veth already gone is what we wanted.
		if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("delete veth %s: %w", pod.HostVeth, err)
		}
		return nil
	})
}

// Pods returns the pods currently attached, in no particular order.
func (f *Fabric) Pods() []PodNS {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]PodNS, 0, len(f.pods))
	for _, p := range f.pods {
		out = append(out, *p)
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	for i := 3; i >= 0 && hostBits > 0; i-- {
		bits := min(hostBits, 8)
		a[i] |= byte(1<<bits - 1)
		hostBits -= bits
	}
	return netip.AddrFrom4(a)
}
