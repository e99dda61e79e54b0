package netns

import (
	"fmt"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// PodNetNS returns the name of a pod's network namespace (for `ip netns
// exec`), or its node's for a hostNetwork pod: tests use it to change what a
// pod's own stack does, e.g. a firewall inside the pod.
func (c *Cluster) PodNetNS(ref model.PodRef) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt, ok := c.pods[ref.String()]
	if !ok {
		return "", fmt.Errorf("pod %s: no such pod in netns cluster %s", ref, c.prefix)
	}
	if rt.netns == nil {
		return rt.node.NetNS, nil
	}
	return rt.netns.NetNS, nil
}

// NodeNetNS returns the name of a node's network namespace.
func (c *Cluster) NodeNetNS(node string) (string, error) {
	n, err := c.fabric.NodeByName(node)
	if err != nil {
		return "", err
	}
	return n.NetNS, nil
}
