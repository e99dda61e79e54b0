package cases

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// upstreamUDPSCTP is the "using UDP" and "using SCTP" blocks of the upstream
// suite: the same three scenarios for each protocol.
func upstreamUDPSCTP() []scenario {
	var out []scenario
	for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolSCTP} {
		context := upstreamUDPContext
		if proto == corev1.ProtocolSCTP {
			context = upstreamSCTPContext
		}
		label := strings.ToLower(string(proto))
		at80 := probe(80, proto)
		at81 := probe(81, proto)
		head := func(pp model.PortProtocol) string { return fmt.Sprintf("%d/%s", pp.Port, pp.Protocol) }

		c := upstreamCase(context, "should support a 'default-deny-ingress' policy", label,
			clauses(model.ClauseIso, model.ClauseRule, model.ClauseSelf))
		c.Topology = pods(probes(at80), "x/a", "x/b", "y/a", "y/b")
		c.Steps = []Step{{Name: "deny all ingress in x", Actions: create(denyIngress("x", "deny-all", all())), Probes: probes(at80)}}
		out = append(out, scenario{Case: c, want: [][]string{{gridf(`
%s x/a x/b y/a y/b
x/a     .   X   .   .
x/b     X   .   .   .
y/a     X   X   .   .
y/b     X   X   .   .`, head(at80))}}})

		c = upstreamCase(context, "should enforce policy based on Ports", label,
			clauses(model.ClausePort, model.ClausePeerNS, model.ClauseRule))
		c.Topology = pods(probes(at81), "x/a", "x/b", "y/a", "z/a")
		c.Steps = []Step{{Name: "x/a allows namespace y on port 81 of " + string(proto), Actions: create(
			newPolicy("x", "allow-ingress-on-port-81-ns-x", podSel("a")).types(ingressOnly...).ingress(
				peers(nsPeer(nsNameSel("y"))).on(portProto(proto, 81))).build()), Probes: probes(at81)}}
		out = append(out, scenario{Case: c, want: [][]string{{gridf(`
%s x/a x/b y/a z/a
x/a     .   .   .   .
x/b     X   .   .   .
y/a     .   .   .   .
z/a     X   .   .   .`, head(at81))}}})

		c = upstreamCase(context, "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector", label,
			clauses(model.ClausePeerAnd, model.ClauseSelector))
		c.Topology = pods(probes(at80), "x/a", "x/b", "y/a")
		c.Steps = []Step{{Name: "x/a allows ingress from y/a only", Actions: create(allowFromYA("x", "allow-ns-y-pod-a-via-namespace-pod-selector")), Probes: probes(at80)}}
		out = append(out, scenario{Case: c, want: [][]string{{gridf(`
%s x/a x/b y/a
x/a     .   .   .
x/b     X   .   .
y/a     .   .   .`, head(at80))}}})
	}
	return out
}
