// Command enforcer is the reference iptables NetworkPolicy enforcer: it
// enforces the policies of the pods on its node, serves /metrics, /healthz and
// /readyz, and with --cleanup removes everything it wrote.
package main
