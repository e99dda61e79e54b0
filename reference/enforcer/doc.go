// Package enforcer is the reference iptables NetworkPolicy enforcer: informer
// caches feed a pure render step (snapshot -> iptables-restore input) and an
// apply step that writes only the enforcer's own chains.
package enforcer
