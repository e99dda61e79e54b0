package netns

import (
	"context"
	"fmt"
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

var createOpts = metav1.CreateOptions{}

// agentContainer is the name of the one container every pod declares; its
// ports are the pod's container ports (named ports resolve against them).
const agentContainer = "probe"

func nodeObject(n fabric.Node) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			UID:    types.UID("node-" + n.Name),
			Labels: map[string]string{corev1.LabelHostname: n.Name},
		},
		Spec: corev1.NodeSpec{
			PodCIDR:  n.PodCIDR.String(),
			PodCIDRs: []string{n.PodCIDR.String()},
		},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.IP.String()},
				{Type: corev1.NodeHostName, Address: n.Name},
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

// namespaceLabels returns labels plus the name label the API server adds.
func namespaceLabels(name string, labels map[string]string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[model.NamespaceNameLabel] = name
	return out
}

func namespaceObject(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			UID:    types.UID("ns-" + name),
			Labels: namespaceLabels(name, labels),
		},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
}

// podObject is the pod as a kubelet would report it: Running (or the phase
// asked for) with its IP.
func podObject(pod model.Pod, uid string, node fabric.Node, ip string) *corev1.Pod {
	var ports []corev1.ContainerPort
	for _, p := range pod.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, corev1.ContainerPort{Name: p.Name, ContainerPort: p.Port, Protocol: proto})
	}
	obj := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      pod.Name,
			Namespace: pod.Namespace,
			UID:       types.UID(uid),
			Labels:    maps.Clone(pod.Labels),
		},
		Spec: corev1.PodSpec{
			NodeName:    node.Name,
			HostNetwork: pod.HostNetwork,
			Containers:  []corev1.Container{{Name: agentContainer, Image: "netpolcheck/probe", Ports: ports}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if pod.Phase != "" {
		obj.Status.Phase = pod.Phase
	}
	if node.IP.IsValid() {
		obj.Status.HostIP = node.IP.String()
		obj.Status.HostIPs = []corev1.HostIP{{IP: node.IP.String()}}
	}
	if ip != "" {
		obj.Status.PodIP = ip
		obj.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	ready := corev1.ConditionFalse
	if obj.Status.Phase == corev1.PodRunning {
		ready = corev1.ConditionTrue
	}
	obj.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodReady, Status: ready},
		{Type: corev1.ContainersReady, Status: ready},
	}
	return obj
}

// Topology reads namespaces, pods and nodes back from the API, with the IPs
// the pods really have.
func (c *Cluster) Topology(ctx context.Context) (*model.Topology, error) {
	return topologyFromAPI(ctx, c)
}

func topologyFromAPI(ctx context.Context, c *Cluster) (*model.Topology, error) {
	api := c.client.CoreV1()
	nsList, err := api.Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	podList, err := api.Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	nodeList, err := api.Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	topo := &model.Topology{Namespaces: map[string]model.Namespace{}}
	for _, ns := range nsList.Items {
		labels := maps.Clone(ns.Labels)
		delete(labels, model.NamespaceNameLabel)
		topo.Namespaces[ns.Name] = model.Namespace{Labels: labels}
	}
	for _, p := range podList.Items {
		topo.Pods = append(topo.Pods, provider.PodFromAPI(&p))
	}
	sort.Slice(topo.Pods, func(i, j int) bool {
		return topo.Pods[i].Ref().String() < topo.Pods[j].Ref().String()
	})
	for _, n := range nodeList.Items {
		node := model.Node{Name: n.Name}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				node.IPs = append(node.IPs, a.Address)
			}
		}
		topo.Nodes = append(topo.Nodes, node)
	}
	sort.Slice(topo.Nodes, func(i, j int) bool { return topo.Nodes[i].Name < topo.Nodes[j].Name })
	return topo, nil
}
