package enforcer

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures an Enforcer (New) or a cleanup (Cleanup).
type Option func(*config)

type config struct {
	nodeName        string
	netnsPath       string
	minSyncInterval time.Duration
	resyncPeriod    time.Duration
	denyAction      DenyAction
	chainPrefix     string
	backend         Backend
	families        []IPFamily
	familiesChosen  bool // WithIPFamilies was given: never drop a family
	log             *slog.Logger
	mutant          Mutant // kill-rate test only (WithMutant)
}

func defaultConfig() config {
	return config{
		minSyncInterval: 200 * time.Millisecond,
		resyncPeriod:    60 * time.Second,
		denyAction:      DenyReject,
		chainPrefix:     DefaultChainPrefix,
		backend:         BackendAuto,
		families:        []IPFamily{IPv4, IPv6},
		log:             slog.Default(),
	}
}

func (c config) validate() error {
	if c.minSyncInterval < 0 || c.resyncPeriod <= 0 {
		return fmt.Errorf("sync intervals must be positive (min %s, resync %s)", c.minSyncInterval, c.resyncPeriod)
	}
	if len(c.chainPrefix) == 0 || len(c.chainPrefix) > 8 {
		return fmt.Errorf("chain prefix %q must have 1 to 8 characters", c.chainPrefix)
	}
	if len(c.families) == 0 {
		return fmt.Errorf("no IP family selected")
	}
	return c.mutant.validate()
}

// WithNodeName sets the node whose pods are enforced (required by New).
func WithNodeName(name string) Option { return func(c *config) { c.nodeName = name } }

// WithNetNS runs every iptables command inside the network namespace at path
// (e.g. /run/netns/NAME): the sync goroutine locks its OS thread and setns'es
// into it, and exec'd children inherit the thread's namespace.
func WithNetNS(path string) Option { return func(c *config) { c.netnsPath = path } }

// WithMinSyncInterval coalesces bursts of events: syncs start at most this often.
func WithMinSyncInterval(d time.Duration) Option { return func(c *config) { c.minSyncInterval = d } }

// WithResyncPeriod sets how often a full sync re-lists the chains and repairs
// what others changed, even without events.
func WithResyncPeriod(d time.Duration) Option { return func(c *config) { c.resyncPeriod = d } }

// WithDenyAction chooses REJECT (default) or DROP at the end of pod chains.
func WithDenyAction(a DenyAction) Option { return func(c *config) { c.denyAction = a } }

// WithChainPrefix changes the chain name prefix (default "NPC-").
func WithChainPrefix(p string) Option { return func(c *config) { c.chainPrefix = p } }

// WithBackend forces an iptables backend instead of detecting it.
func WithBackend(b Backend) Option { return func(c *config) { c.backend = b } }

// WithIPFamilies limits enforcement to the given families. By default both
// are enforced, except IPv6 where the kernel has no usable ip6tables (an
// IPv4-only host): then it is skipped with a warning.
func WithIPFamilies(f ...IPFamily) Option {
	return func(c *config) {
		c.families = append([]IPFamily(nil), f...)
		c.familiesChosen = true
	}
}

// WithLogger sets the structured logger.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// ParseIPFamilies accepts "4", "6", "ipv4", "ipv6" and comma-separated lists.
func ParseIPFamilies(list []string) ([]IPFamily, error) {
	var out []IPFamily
	for _, s := range list {
		switch s {
		case "4", "ipv4", "IPv4":
			out = append(out, IPv4)
		case "6", "ipv6", "IPv6":
			out = append(out, IPv6)
		default:
			return nil, fmt.Errorf("IP family %q: want ipv4 or ipv6", s)
		}
	}
	return out, nil
}
