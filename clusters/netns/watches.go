package netns

import (
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// enforcerInformers is how many watches one reference enforcer opens: Pods,
// Namespaces, NetworkPolicies and Nodes.
const enforcerInformers = 4

// newAPI returns the fake API of a cluster and a counter of the watches opened
// on it. The fake tracker keeps no history: an event that happens between an
// informer's list and its watch is lost for good, so a policy created right
// after an enforcer reports ready could go unseen until the next resync. The
// reactor registers each watch itself and only then counts it, so a count
// that has reached N means N watches are receiving events.
func newAPI() (*fake.Clientset, *atomic.Int64) {
	client := fake.NewClientset()
	var opened atomic.Int64
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
		return true, w, nil
	})
	return client, &opened
}
