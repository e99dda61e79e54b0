package enforcer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

// TestNothingIsWrittenBeforeCachesSync holds the pod list in the fake API
// and checks that the node namespace stays untouched until it is released.
func TestNothingIsWrittenBeforeCachesSync(t *testing.T) {
	c := newTestCluster(t, "h4-it6-", []podSpec{{"x", "a", 0}})
	node, _ := c.fab.Node(0)
	t.Cleanup(func() { Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(node.NetNS))) })
	release := make(chan struct{})
	c.client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	e, err := New(c.client, WithLogger(quietLogger), WithNodeName(node.Name), WithNetNS(fabric.NetNSPath(node.NetNS)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	time.Sleep(500 * time.Millisecond)
	if saved := c.iptablesSave(node); strings.Contains(saved, "NPC-") {
		close(release)
		t.Fatalf("rules written before the pod cache synced:\n%s", saved)
	}
	if e.Ready() {
		t.Fatal("ready before the caches synced")
	}
	close(release)
	waitFor(t, "the first sync after the caches synced", e.Ready)
	if saved := c.iptablesSave(node); !strings.Contains(saved, "-A FORWARD -j NPC-FORWARD") {
		t.Fatalf("no rules after the first sync:\n%s", saved)
	}
}

// TestBurstsOfEventsAreCoalesced creates 50 policies at once: the enforcer
// must converge with far fewer syncs than events.
func TestBurstsOfEventsAreCoalesced(t *testing.T) {
	c := newTestCluster(t, "h4-it7-", []podSpec{{"x", "a", 0}}, WithMinSyncInterval(100*time.Millisecond), WithResyncPeriod(time.Hour))
	c.startEnforcers()
	node, _ := c.fab.Node(0)
	t.Cleanup(func() { Cleanup(context.Background(), WithNetNS(fabric.NetNSPath(node.NetNS))) })
	sample := `netpolcheck_enforcer_syncs_total{node="node-1",result="success"}`
	before, _ := strconv.Atoi(testMetric(t, c.enf[0], sample))
	const burst = 50
	for i := range burst {
		c.apply(policy("x", fmt.Sprintf("p-%02d", i), networkingv1.NetworkPolicySpec{
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(1000 + i)}}},
		}))
	}
	waitFor(t, "every policy rendered", func() bool {
		return strings.Contains(c.iptablesSave(node), fmt.Sprintf("x/p-%02d ingress 0", burst-1))
	})
	after, _ := strconv.Atoi(testMetric(t, c.enf[0], sample))
	// One sync per event would add 50; resyncs are off (one hour).
	if syncs := after - before; syncs <= 0 || syncs > burst/5 {
		t.Fatalf("%d syncs for a burst of %d events, want between 1 and %d", syncs, burst, burst/5)
	}
}

// TestRunReturnsWhenTheSyncLoopCannotStart checks that a fatal setup error
// (a network namespace that does not exist) ends Run with that error instead
// of hanging on the informers.
func TestRunReturnsWhenTheSyncLoopCannotStart(t *testing.T) {
	e, err := New(fake.NewClientset(), WithLogger(quietLogger), WithNodeName("node-1"), WithNetNS("/run/netns/h4-does-not-exist"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "h4-does-not-exist") {
			t.Fatalf("Run returned %v, want an error naming the namespace", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run hangs after its sync loop failed")
	}
}
