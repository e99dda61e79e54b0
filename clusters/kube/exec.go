package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/netpolcheck/netpolcheck/clusters/images"
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// maxExecs bounds the exec streams open at once, so a round of many
// sources never floods the API server.
const maxExecs = 8

// execProber runs `probe batch` in the source's pod through the API: the
// batch goes in on stdin, one JSON result per line comes back on stdout.
// Control traffic runs over the API server and the kubelet, never over the
// pod network, so policies cannot cut the harness off.
type execProber struct {
	rest   *rest.Config
	client kubernetes.Interface
	c      *Cluster
	slots  chan struct{}
}

func newExecProber(cfg *rest.Config, client kubernetes.Interface, c *Cluster) *execProber {
	return &execProber{rest: cfg, client: client, c: c, slots: make(chan struct{}, maxExecs)}
}

func (p *execProber) ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error) {
	namespace, pod, err := p.podOf(source)
	if err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()

	in, err := json.Marshal(probes)
	if err != nil {
		return nil, err
	}
	req := p.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: "probe",
			Command:   []string{images.ProbeBinaryPath, "batch"},
			Stdin:     true, Stdout: true, Stderr: true,
		}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(p.rest, "POST", req.URL())
	if err != nil {
		return nil, fmt.Errorf("exec in %s: %w", source, err)
	}
	var stdout, stderr bytes.Buffer
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: bytes.NewReader(in), Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return nil, fmt.Errorf("exec probe batch in %s: %w: %s", source, err, strings.TrimSpace(stderr.String()))
	}
	var results []agent.Result
	scanner := bufio.NewScanner(&stdout)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		var r agent.Result
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("probe batch in %s: bad result line %q: %w", source, scanner.Text(), err)
		}
		results = append(results, r)
	}
	return results, scanner.Err()
}

// podOf names the pod a source runs in: the pod itself, or a node's agent.
func (p *execProber) podOf(source string) (namespace, pod string, err error) {
	if node, ok := matrix.NodeOf(source); ok {
		if _, known := p.c.nodes[node]; !known {
			return "", "", fmt.Errorf("probe from %s: no such node", source)
		}
		return SystemNamespace, nodeAgentPod(node), nil
	}
	ref, err := model.ParsePodRef(source)
	if err != nil {
		return "", "", fmt.Errorf("probe from %q: %w", source, err)
	}
	return ref.Namespace, ref.Name, nil
}
