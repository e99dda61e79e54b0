package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

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

	mu       sync.Mutex
	sessions map[string]*session // by source
}

func newExecProber(cfg *rest.Config, client kubernetes.Interface, c *Cluster) *execProber {
	return &execProber{rest: cfg, client: client, c: c, slots: make(chan struct{}, maxExecs), sessions: map[string]*session{}}
}

// ProbeBatch runs the batch over the source's stream session, opening one
// if there is none; when the session fails (its pod was replaced, the
// stream broke) it is dropped and this batch falls back to one exec of its
// own.
func (p *execProber) ProbeBatch(ctx context.Context, source string, probes []agent.Probe) ([]agent.Result, error) {
	namespace, pod, err := p.podOf(source)
	if err != nil {
		return nil, err
	}
	s := p.session(namespace, pod, source)
	results, err := s.batch(ctx, probes)
	if err == nil {
		return results, nil
	}
	p.dropSession(source, s)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return p.execOnce(ctx, namespace, pod, source, probes)
}

func (p *execProber) session(namespace, pod, source string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[source]; ok {
		return s
	}
	s := openSession(func(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
		exec, err := p.executor(namespace, pod, []string{images.ProbeBinaryPath, "batch", "--stream"}, true)
		if err != nil {
			return err
		}
		return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
	})
	p.sessions[source] = s
	return s
}

func (p *execProber) dropSession(source string, s *session) {
	p.mu.Lock()
	if p.sessions[source] == s {
		delete(p.sessions, source)
	}
	p.mu.Unlock()
	s.close()
}

// closeSessions ends every stream (Destroy).
func (p *execProber) closeSessions() {
	p.mu.Lock()
	sessions := p.sessions
	p.sessions = map[string]*session{}
	p.mu.Unlock()
	for _, s := range sessions {
		s.close()
	}
}

// executor prepares an exec of command in the pod's probe container. stdin
// must match the StreamOptions the caller streams with: an exec that
// announces stdin and never opens it is not ended by its command's exit.
func (p *execProber) executor(namespace, pod string, command []string, stdin bool) (remotecommand.Executor, error) {
	req := p.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: "probe",
			Command:   command,
			Stdin:     stdin, Stdout: true, Stderr: true,
		}, scheme.ParameterCodec)
	return remotecommand.NewSPDYExecutor(p.rest, "POST", req.URL())
}

// execOnce runs one `probe batch` exec for one batch: the fallback.
func (p *execProber) execOnce(ctx context.Context, namespace, pod, source string, probes []agent.Probe) ([]agent.Result, error) {
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
	exec, err := p.executor(namespace, pod, []string{images.ProbeBinaryPath, "batch"}, true)
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
