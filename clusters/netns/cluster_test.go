package netns

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/matrix"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the netns cluster needs network namespaces: run as root (sudo -E go test ./clusters/netns/)")
	}
}

func newTestCluster(t *testing.T) *Cluster {
	t.Helper()
	requireRoot(t)
	ctx := context.Background()
	c, err := Create(ctx, WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Destroy(context.Background()); err != nil {
			t.Errorf("destroy: %v", err)
		}
		assertNothingLeft(t, c.Name())
	})
	return c
}

// assertNothingLeft checks the host for anything carrying the run prefix.
func assertNothingLeft(t *testing.T, prefix string) {
	t.Helper()
	for _, argv := range [][]string{{"ip", "netns", "list"}, {"ip", "link"}} {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%v: %v", argv, err)
		}
		if strings.Contains(string(out), prefix) {
			t.Errorf("%v still shows %s:\n%s", argv, prefix, out)
		}
	}
	for _, a := range agentProcesses() {
		if a.prefix == prefix {
			t.Errorf("agent process %d of %s still runs", a.pid, prefix)
		}
	}
	if _, err := os.Stat(runDirRoot + "/" + prefix); err == nil {
		t.Errorf("run directory of %s is still there", prefix)
	}
}

// fullMatrix lists every cell of topo on its declared ports.
func fullMatrix(topo *model.Topology) []matrix.Cell {
	var cells []matrix.Cell
	for _, from := range topo.Pods {
		for _, to := range topo.Pods {
			for _, cp := range to.Ports {
				cells = append(cells, matrix.Cell{
					From:     from.Ref().String(),
					To:       matrix.Target{Pod: to.Ref().String(), IP: to.IP},
					Port:     cp.Port,
					Protocol: string(cp.Protocol),
				})
			}
		}
	}
	return cells
}

// Without an enforcer every pod reaches every pod on every port and
// protocol, and each answer carries the intended pod's identity.
func TestDefaultTopologyIsFullyConnectedWithoutEnforcer(t *testing.T) {
	c := newTestCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := c.Deploy(ctx, model.DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	t.Logf("deployed 9 pods in %s", time.Since(start))
	topo, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Pods) != 9 || len(topo.Namespaces) != 3 || len(topo.Nodes) != 2 {
		t.Fatalf("topology: %d pods, %d namespaces, %d nodes; want 9, 3, 2", len(topo.Pods), len(topo.Namespaces), len(topo.Nodes))
	}
	want := model.DefaultTopology()
	for i, p := range topo.Pods {
		if p.IP != want.Pods[i].IP || p.Node != want.Pods[i].Node {
			t.Errorf("pod %s: IP %s on %s, want %s on %s", p.Ref(), p.IP, p.Node, want.Pods[i].IP, want.Pods[i].Node)
		}
	}
	cells := fullMatrix(topo)
	start = time.Now()
	obs, err := matrix.Run(ctx, c.Prober(), cells, matrix.WithProbeTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probed %d cells in %s", len(cells), time.Since(start))
	for _, k := range obs.Keys() {
		if r := obs.Results[k]; r.Outcome != agent.Connected {
			t.Errorf("%s: %s %s", k, r.Outcome, r.Error)
		}
	}
}

// Deploy converges to a new topology: removed pods are gone from the API and
// unreachable, kept pods change labels and declared ports in place, a
// re-added pod comes back.
func TestDeployConvergesToAnotherTopology(t *testing.T) {
	c := newTestCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	full := model.DefaultTopology()
	if err := c.Deploy(ctx, full); err != nil {
		t.Fatal(err)
	}
	small := model.DefaultTopology()
	small.Pods = small.Pods[:2]
	small.Pods[0].Labels = map[string]string{"pod": "a", "extra": "yes"}
	small.Pods[1].Ports = small.Pods[1].Ports[:1]
	delete(small.Namespaces, "z")
	if err := c.Deploy(ctx, small); err != nil {
		t.Fatal(err)
	}
	got, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pods) != 2 || len(got.Namespaces) != 2 {
		t.Fatalf("after shrinking: %d pods, %d namespaces; want 2, 2", len(got.Pods), len(got.Namespaces))
	}
	if got.Pods[0].Labels["extra"] != "yes" || len(got.Pods[1].Ports) != 1 {
		t.Errorf("kept pods not updated: %+v", got.Pods)
	}
	if _, err := c.Prober().ProbeBatch(ctx, "y/a", nil); err == nil {
		t.Errorf("a removed pod can still run probes")
	}
	if err := c.Deploy(ctx, full); err != nil {
		t.Fatal(err)
	}
	got, err = c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := matrix.Run(ctx, c.Prober(), fullMatrix(got))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range obs.Keys() {
		if r := obs.Results[k]; r.Outcome != agent.Connected {
			t.Errorf("after growing back: %s: %s %s", k, r.Outcome, r.Error)
		}
	}
}

// A hostNetwork pod serves on its node's IP from the node's namespace and
// can probe; a finished pod keeps its IP in the API but runs nothing.
func TestHostNetworkAndFinishedPods(t *testing.T) {
	c := newTestCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topo := model.DefaultTopology()
	topo.Pods = topo.Pods[:2]
	topo.Pods = append(topo.Pods,
		model.Pod{Namespace: "x", Name: "host", Node: "node-1", HostNetwork: true, Labels: map[string]string{"pod": "host"},
			Ports: []model.ContainerPort{{Name: "web", Port: 8080, Protocol: "TCP"}, {Name: "dns", Port: 8080, Protocol: "UDP"}}},
		model.Pod{Namespace: "y", Name: "done", Node: "node-2", Phase: "Failed", Labels: map[string]string{"pod": "done"},
			Ports: topo.Pods[0].Ports},
	)
	if err := c.Deploy(ctx, topo); err != nil {
		t.Fatal(err)
	}
	got, err := c.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]model.Pod{}
	for _, p := range got.Pods {
		byName[p.Ref().String()] = p
	}
	host, done := byName["x/host"], byName["y/done"]
	if !host.HostNetwork || host.IP != got.Nodes[0].IPs[0] {
		t.Errorf("x/host: hostNetwork=%v IP %s, want true and node-1's IP %s", host.HostNetwork, host.IP, got.Nodes[0].IPs[0])
	}
	if done.Phase != "Failed" || done.IP == "" {
		t.Errorf("y/done: phase %s IP %q, want Failed with an IP", done.Phase, done.IP)
	}
	cells := []matrix.Cell{
		{From: "x/a", To: matrix.Target{Pod: "x/host", IP: host.IP}, Port: 8080, Protocol: "TCP"},
		{From: "x/b", To: matrix.Target{Pod: "x/host", IP: host.IP}, Port: 8080, Protocol: "UDP"},
		{From: "x/host", To: matrix.Target{Pod: "x/b", IP: byName["x/b"].IP}, Port: 80, Protocol: "SCTP"},
	}
	obs, err := matrix.Run(ctx, c.Prober(), cells, matrix.WithProbeTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range obs.Keys() {
		if r := obs.Results[k]; r.Outcome != agent.Connected {
			t.Errorf("%s: %s %s", k, r.Outcome, r.Error)
		}
	}
	if _, err := c.Prober().ProbeBatch(ctx, "y/done", nil); err == nil {
		t.Error("a Failed pod ran probes")
	}
	// Back to the default topology: the hostNetwork agent must be gone, or
	// its ports would stay taken on node-1.
	if err := c.Deploy(ctx, model.DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	for _, a := range agentProcesses() {
		if a.prefix == c.Name() {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", a.pid))
			if strings.Contains(string(cmdline), "x/host") {
				t.Errorf("the agent of x/host still runs after it left the topology")
			}
		}
	}
}
