package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// guardComment starts the comment of every guard rule, so they can be told
// apart from anyone else's. Each Guard call adds its own id to it.
const guardComment = "netpolcheck: keep the kind network on this machine"

// Guard makes the host reject every packet forwarded from the docker network
// to any other interface, for IPv4 and IPv6, until remove is called. A kind
// node hands what it cannot route locally (for example a Service IP before
// kube-proxy has synced) to docker's gateway, and docker masquerades it off
// the machine; with the guard it is rejected instead. Traffic between the
// network's own containers, and to this host itself, is unaffected.
//
// The rule goes first in DOCKER-USER, docker's chain for user rules, where
// docker keeps it ahead of its own; a family without that chain gets it
// first in FORWARD. Call Guard after the network exists (EnsureNetwork) and
// before any node starts. remove is safe to call more than once.
//
// Every call places rules of its own (their comment carries a random id) and
// remove deletes only those: several clusters, tests or processes can guard
// the same network, and one of them finishing never unguards the others.
func Guard(ctx context.Context, network string) (remove func() error, err error) {
	info, err := inspectNetwork(ctx, network)
	if err != nil {
		return nil, fmt.Errorf("guarding docker network %s: %w", network, err)
	}
	if info.Driver != "bridge" {
		return nil, fmt.Errorf("guarding docker network %s: driver %q, want bridge", network, info.Driver)
	}
	return GuardBridge(info.bridge())
}

// GuardBridge is Guard for a Linux bridge given by name.
func GuardBridge(bridge string) (remove func() error, err error) {
	if bridge == "" {
		return nil, errors.New("guard: empty bridge name")
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("guard for %s: %w", bridge, err)
	}
	comment := guardComment + " (guard " + hex.EncodeToString(id[:]) + ")"
	var placed []guardRule
	remove = func() error {
		var errs []error
		for _, r := range placed {
			if err := r.ipt.DeleteIfExists("filter", r.chain, r.spec...); err != nil {
				errs = append(errs, fmt.Errorf("removing guard for %s from %s: %w", bridge, r.chain, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, proto := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		r, err := guardRuleFor(proto, bridge, comment)
		if err != nil {
			return nil, errors.Join(err, remove())
		}
		if err := r.ipt.Insert("filter", r.chain, 1, r.spec...); err != nil {
			return nil, errors.Join(fmt.Errorf("guard for %s: inserting into %s: %w", bridge, r.chain, err), remove())
		}
		placed = append(placed, r)
	}
	return remove, nil
}

type guardRule struct {
	ipt   *iptables.IPTables
	chain string
	spec  []string
}

// guardRuleFor picks the chain for one family and spells the rule.
func guardRuleFor(proto iptables.Protocol, bridge, comment string) (guardRule, error) {
	ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(5))
	if err != nil {
		return guardRule{}, fmt.Errorf("guard for %s: %w", bridge, err)
	}
	chain := "FORWARD"
	if ok, err := ipt.ChainExists("filter", "DOCKER-USER"); err == nil && ok {
		chain = "DOCKER-USER"
	}
	spec := []string{"-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", comment, "-j", "REJECT"}
	return guardRule{ipt: ipt, chain: chain, spec: spec}, nil
}

// RemoveGuards deletes the guard rules of any run for the given bridges, or
// for every bridge when none is given, in both families: what cleanup does
// once no kind cluster of netpolcheck's is left (a kept cluster keeps its
// guard until then). It returns how many it removed.
func RemoveGuards(bridges ...string) (int, error) {
	removed := 0
	var errs []error
	for _, proto := range []iptables.Protocol{iptables.ProtocolIPv4, iptables.ProtocolIPv6} {
		ipt, err := iptables.New(iptables.IPFamily(proto), iptables.Timeout(5))
		if err != nil {
			continue // no such family here
		}
		for _, chain := range []string{"DOCKER-USER", "FORWARD"} {
			if ok, err := ipt.ChainExists("filter", chain); err != nil || !ok {
				continue
			}
			rules, err := ipt.List("filter", chain)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, rule := range rules {
				if !strings.Contains(rule, guardComment) || !onBridge(rule, bridges) {
					continue
				}
				// List gives "-A CHAIN spec..."; Delete wants the spec,
				// with the comment's quotes gone.
				if err := ipt.Delete("filter", chain, splitRule(strings.TrimPrefix(rule, "-A "+chain+" "))...); err != nil {
					errs = append(errs, fmt.Errorf("remove guard %q: %w", rule, err))
					continue
				}
				removed++
			}
		}
	}
	return removed, errors.Join(errs...)
}

// onBridge says whether a rule's input interface is one of bridges (any,
// when bridges is empty).
func onBridge(rule string, bridges []string) bool {
	if len(bridges) == 0 {
		return true
	}
	for _, b := range bridges {
		if strings.Contains(rule, "-i "+b+" ") {
			return true
		}
	}
	return false
}

// splitRule splits an iptables -S rule into arguments, keeping quoted
// strings (the comment) whole.
func splitRule(rule string) []string {
	var args []string
	var cur strings.Builder
	quoted := false
	for _, r := range rule {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				args = append(args, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		args = append(args, cur.String())
	}
	return args
}
