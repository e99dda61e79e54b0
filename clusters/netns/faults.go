package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Fault injection: each method breaks one thing the way it breaks on a real
// cluster, so tests can check that the harness never mistakes the damage
// for a working enforcer. None of them tells the API; healing is the
// caller's business (DeletePod, StartEnforcer, ResumeWatches).

// KillAgent breaks the pod's servers and its probe channel: it SIGKILLs the
// pod's probe agent, as an OOM kill would, and waits until it is gone. The
// pod stays Running in the API with its IP; probes to it are refused and
// batches from it fail. Delete the pod to heal.
func (c *Cluster) KillAgent(ref model.PodRef) error {
	rt, err := c.runningPod(ref, "kill agent")
	if err != nil {
		return err
	}
	if err := rt.agent.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill agent of %s: %w", ref, err)
	}
	select {
	case <-rt.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("kill agent of %s: still running 5s after SIGKILL", ref)
	}
}

// BreakControlSocket breaks only the harness's channel to the pod: it
// removes the agent's control socket, so batches from the pod fail, while
// the agent keeps serving its ports to everyone else. Delete the pod to heal.
func (c *Cluster) BreakControlSocket(ref model.PodRef) error {
	rt, err := c.runningPod(ref, "break control socket")
	if err != nil {
		return err
	}
	if err := os.Remove(rt.socket); err != nil {
		return fmt.Errorf("break control socket of %s: %w", ref, err)
	}
	return nil
}

// DeletePodRoute breaks the path into the pod: it deletes its node's /32
// (and /128) route to the pod, so nothing reaches the pod through its node,
// neither the node itself nor other pods, while the pod still reaches
// itself. Delete the pod to heal.
func (c *Cluster) DeletePodRoute(ref model.PodRef) error {
	rt, err := c.runningPod(ref, "delete pod route")
	if err != nil {
		return err
	}
	if rt.netns == nil {
		return fmt.Errorf("delete pod route of %s: a hostNetwork pod has no route of its own", ref)
	}
	nodeNS, err := netns.GetFromName(rt.node.NetNS)
	if err != nil {
		return fmt.Errorf("delete pod route of %s: open namespace %s: %w", ref, rt.node.NetNS, err)
	}
	defer nodeNS.Close()
	h, err := netlink.NewHandleAt(nodeNS)
	if err != nil {
		return fmt.Errorf("delete pod route of %s: netlink in %s: %w", ref, rt.node.NetNS, err)
	}
	defer h.Close()
	link, err := h.LinkByName(rt.netns.HostVeth)
	if err != nil {
		return fmt.Errorf("delete pod route of %s: find %s: %w", ref, rt.netns.HostVeth, err)
	}
	for _, ip := range []netip.Addr{rt.netns.IP, rt.netns.IPv6} {
		if !ip.IsValid() {
			continue
		}
		route := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())},
			Scope:     netlink.SCOPE_LINK,
		}
		if err := h.RouteDel(route); err != nil {
			return fmt.Errorf("delete pod route of %s: %s dev %s in %s: %w", ref, ip, rt.netns.HostVeth, rt.node.NetNS, err)
		}
	}
	return nil
}

// runningPod returns the pod's runtime if its agent was started.
func (c *Cluster) runningPod(ref model.PodRef, what string) (*podRuntime, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt, ok := c.pods[ref.String()]
	if !ok {
		return nil, fmt.Errorf("%s of %s: no such pod in netns cluster %s", what, ref, c.prefix)
	}
	if rt.agent == nil || rt.agent.Process == nil {
		return nil, fmt.Errorf("%s of %s: the pod runs no agent", what, ref)
	}
	return rt, nil
}

// StopEnforcer breaks enforcement on one node as a crash would: it cancels
// the node's reference enforcer instance and waits until it has returned.
// The enforcer does not flush on shutdown, so its rules stay as they were,
// and nothing follows later changes of the API. StartEnforcer heals.
func (c *Cluster) StopEnforcer(node string) error {
	c.mu.Lock()
	stop := c.enforcers[node]
	delete(c.enforcers, node)
	c.mu.Unlock()
	if stop == nil {
		return fmt.Errorf("stop enforcer: no reference enforcer runs on node %q of netns cluster %s", node, c.prefix)
	}
	if err := stop(); err != nil {
		return fmt.Errorf("stop enforcer: %w", err)
	}
	return nil
}

// StartEnforcer starts a fresh reference enforcer instance for one node,
// after StopEnforcer, and returns once it has synced and watches the API,
// as InstallEnforcer does. A fresh instance lists the API again, so it
// also heals what PauseWatches made the old one miss.
func (c *Cluster) StartEnforcer(ctx context.Context, node string) error {
	if _, err := c.fabric.NodeByName(node); err != nil {
		return fmt.Errorf("start enforcer: netns cluster %s: %w", c.prefix, err)
	}
	return c.startEnforcers(ctx, []string{node})
}

// FlushEnforcerChains breaks the rules on one node as an operator's stray
// flush would: it runs `iptables -F` on every filter chain whose name starts
// with the reference enforcer's prefix (NPC-) in the node's namespace. The
// chains and the jumps from FORWARD and INPUT stay, empty chains return, so
// the node enforces nothing until the enforcer's next resync (see
// WithEnforcerResyncPeriod) finds and rewrites them. Both iptables backends
// are searched; it fails when neither holds such a chain.
func (c *Cluster) FlushEnforcerChains(node string) error {
	n, err := c.fabric.NodeByName(node)
	if err != nil {
		return fmt.Errorf("flush enforcer chains: netns cluster %s: %w", c.prefix, err)
	}
	flushed := 0
	err = fabric.Do(n.NetNS, func() error {
		for _, backend := range []string{"legacy", "nft"} {
			restore, err := exec.LookPath("iptables-" + backend + "-restore")
			if err != nil {
				continue
			}
			save, err := exec.LookPath("iptables-" + backend + "-save")
			if err != nil {
				continue
			}
			chains, err := prefixedChains(save, enforcer.DefaultChainPrefix)
			if err != nil {
				return err
			}
			if len(chains) == 0 {
				continue
			}
			// One transaction: a resync that runs while the chains are
			// flushed one by one would repair some and see others emptied
			// after it.
			var script strings.Builder
			script.WriteString("*filter\n")
			for _, chain := range chains {
				fmt.Fprintf(&script, "-F %s\n", chain)
			}
			script.WriteString("COMMIT\n")
			cmd := exec.Command(restore, "-w", "--noflush")
			cmd.Stdin = strings.NewReader(script.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w: %s", restore, err, bytes.TrimSpace(out))
			}
			flushed += len(chains)
		}
		return nil
	})
	if err == nil && flushed == 0 {
		err = fmt.Errorf("no chain starts with %s", enforcer.DefaultChainPrefix)
	}
	if err != nil {
		return fmt.Errorf("flush enforcer chains on %s: %w", node, err)
	}
	return nil
}

// prefixedChains lists the filter chains whose name starts with prefix, read
// with the given iptables-save in the current thread's namespace.
func prefixedChains(save, prefix string) ([]string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(save, "-t", "filter")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", save, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var chains []string
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, ":"+prefix); ok {
			name, _, _ := strings.Cut(rest, " ")
			chains = append(chains, prefix+name)
		}
	}
	return chains, nil
}

// PauseWatches breaks the API's event stream: from now on, every event of
// every watch, open or opened later, is dropped, never delivered, as with a
// watch connection that died without closing. Lists still answer. Dropped
// events stay lost after ResumeWatches; restart the enforcers to heal.
func (c *Cluster) PauseWatches() { c.watchesPaused.Store(true) }

// ResumeWatches delivers later events again (see PauseWatches).
func (c *Cluster) ResumeWatches() { c.watchesPaused.Store(false) }
