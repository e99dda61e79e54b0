package netns

import (
	"runtime/debug"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// enforcerInformers is how many watches one reference enforcer opens: Pods,
// Namespaces, NetworkPolicies and Nodes.
const enforcerInformers = 4

// newAPI returns the fake API of a cluster, a counter of the watches opened
// on it, and the switch that pauses them all. The fake tracker keeps no
// history: an event that happens between an informer's list and its watch
// is lost for good, so a policy created right after an enforcer reports
// ready could go unseen until the next resync. The reactor registers each
// watch itself and only then counts it, so a count that has reached N means
// N watches are receiving events.
func newAPI() (*fake.Clientset, *atomic.Int64, *atomic.Bool) {
	client := fake.NewClientset()
	// There is no API server to ask its version: say what stands in for
	// one, so reports do not show client-go's placeholder.
	client.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: FakeServerVersion()}
	var opened atomic.Int64
	var paused atomic.Bool
	client.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if wa, ok := action.(k8stesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		w, err := client.Tracker().Watch(action.GetResource(), action.GetNamespace(), opts)
		if err != nil {
			return true, nil, err
		}
		opened.Add(1)
		return true, newGatedWatch(w, &paused), nil
	})
	return client, &opened, &paused
}

// gatedWatch passes a tracker watch's events on, except while paused: then
// it reads and drops them, as a stream that died without closing would (the
// tracker's watch must be drained, it panics when its buffer is full).
type gatedWatch struct {
	inner   watch.Interface
	paused  *atomic.Bool
	out     chan watch.Event
	stopped chan struct{}
	once    sync.Once
}

func newGatedWatch(inner watch.Interface, paused *atomic.Bool) *gatedWatch {
	g := &gatedWatch{
		inner:   inner,
		paused:  paused,
		out:     make(chan watch.Event),
		stopped: make(chan struct{}),
	}
	go g.forward()
	return g
}

func (g *gatedWatch) forward() {
	defer close(g.out)
	for ev := range g.inner.ResultChan() {
		if g.paused.Load() {
			continue
		}
		select {
		case g.out <- ev:
		case <-g.stopped:
			return
		}
	}
}

// Stop ends the watch; ResultChan is closed soon after.
func (g *gatedWatch) Stop() {
	g.once.Do(func() {
		close(g.stopped)
		g.inner.Stop()
	})
}

// ResultChan returns the events that were not dropped.
func (g *gatedWatch) ResultChan() <-chan watch.Event { return g.out }

// FakeServerVersion is what the netns cluster's API reports as its
// version: there is no API server, only the API types netpolcheck links.
func FakeServerVersion() string {
	v := "(unknown)"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "k8s.io/api" {
				v = dep.Version
			}
		}
	}
	return "none: netns cluster, API objects of k8s.io/api " + v
}
