package enforcer

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

// benchSnapshot: 1,000 local pods in 50 namespaces (20 pods each, labelled
// app=app-<k> and group=g-<k/2>) and the given number of policies. Policy i
// lives in namespace i%50, selects the pod app-<i%20>, allows ingress from
// its group on TCP 80 and a port that moves with variant where changed(i),
// and every fifth
// policy also allows egress to a namespace selector on UDP 53.
func benchSnapshot(policies int, variant int, changed func(i int) bool) Snapshot {
	s := Snapshot{NodeName: localNode}
	for n := range 50 {
		ns := fmt.Sprintf("ns-%d", n)
		s.Namespaces = append(s.Namespaces, namespace(ns, map[string]string{"tier": fmt.Sprint(n % 5)}))
		for k := range 20 {
			p := pod(ns, fmt.Sprintf("pod-%d", k), localNode, fmt.Sprintf("10.%d.%d.%d", 100+n/200, n%200, 10+k))
			p.Labels = map[string]string{"app": fmt.Sprintf("app-%d", k), "group": fmt.Sprintf("g-%d", k/2)}
			s.Pods = append(s.Pods, p)
		}
	}
	udp := corev1.ProtocolUDP
	for i := range policies {
		k := i % 20
		shift := 0
		if changed(i) {
			shift = variant
		}
		spec := networkingv1.NetworkPolicySpec{
			PodSelector: *selector("app", fmt.Sprintf("app-%d", k)),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{podPeer("group", fmt.Sprintf("g-%d", (k+1)%10))},
				Ports: []networkingv1.NetworkPolicyPort{port(80), port(1000 + i%1000 + shift)},
			}},
		}
		if i%5 == 0 {
			spec.PolicyTypes = types(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)
			spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: selector("tier", fmt.Sprint(i%5)), PodSelector: selector("app", "app-0")}},
				Ports: []networkingv1.NetworkPolicyPort{port(53, udp)},
			}}
		}
		s.Policies = append(s.Policies, policy(fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("policy-%d", i), spec))
	}
	return s
}

func everyPolicy(int) bool   { return true }
func firstPolicy(i int) bool { return i == 0 }

// BenchmarkRenderAndApply renders and writes the full ruleset in a network
// namespace. Consecutive iterations alternate between two snapshots that
// differ in one port of every policy, so every iteration rewrites every
// chain: the worst case, as on a first sync.
func BenchmarkRenderAndApply(b *testing.B) {
	benchmarkApply(b, "h4-bnall-", everyPolicy)
}

// BenchmarkRenderAndApplyOneChange is the common case: one policy changes
// between syncs, so only its target's chain is rewritten.
func BenchmarkRenderAndApplyOneChange(b *testing.B) {
	benchmarkApply(b, "h4-bnone-", firstPolicy)
}

func benchmarkApply(b *testing.B, prefix string, changed func(int) bool) {
	requireRoot(b)
	ctx := context.Background()
	if err := fabric.CleanupPrefix(ctx, prefix); err != nil {
		b.Fatal(err)
	}
	fab, err := fabric.New(ctx, prefix, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fab.Destroy(context.Background()) })
	node, _ := fab.Node(0)
	nsPath := fabric.NetNSPath(node.NetNS)
	for _, n := range []int{100, 1000, 10000} {
		snaps := [2]Snapshot{benchSnapshot(n, 0, changed), benchSnapshot(n, 1, changed)}
		b.Run(fmt.Sprintf("policies=%d/pods=1000", n), func(b *testing.B) {
			err := inNetNS(nsPath, func() error {
				a, err := newApplier(IPv4, BackendDefault, DefaultChainPrefix)
				if err != nil {
					return err
				}
				// The starting state is in place before the clock starts.
				if _, err := a.apply(ctx, Render(snaps[1], RenderOptions{})[0], false); err != nil {
					return err
				}
				rules := 0
				for i := 0; b.Loop(); i++ {
					rs := Render(snaps[i%2], RenderOptions{})[0]
					rules = rs.RuleCount()
					wrote, err := a.apply(ctx, rs, false)
					if err != nil {
						return err
					}
					if !wrote {
						return fmt.Errorf("iteration %d did not write", i)
					}
				}
				b.ReportMetric(float64(rules), "rules")
				return a.removeAll(ctx)
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkRender measures the pure render alone (no root needed).
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		snap := benchSnapshot(n, 0, everyPolicy)
		b.Run(fmt.Sprintf("policies=%d/pods=1000", n), func(b *testing.B) {
			rules := 0
			for b.Loop() {
				rules = Render(snap, RenderOptions{})[0].RuleCount()
			}
			b.ReportMetric(float64(rules), "rules")
		})
	}
}
