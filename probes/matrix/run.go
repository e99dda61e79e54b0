package matrix

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
)

// Cell is one probe of the matrix: from a source pod to a target's port.
type Cell struct {
	From     string // namespace/pod that runs the probe
	To       Target
	Port     int32
	Protocol string // TCP, UDP or SCTP
}

// Key is the cell's key in the observed table.
func (c Cell) Key() Key {
	return Key{From: c.From, To: c.To.Pod, Port: c.Port, Protocol: c.Protocol}
}

// String reads like "x/a -> y/b:80/TCP".
func (k Key) String() string {
	return fmt.Sprintf("%s -> %s:%d/%s", k.From, k.To, k.Port, k.Protocol)
}

// PortProtocol is one port to probe on every target.
type PortProtocol struct {
	Port     int32
	Protocol string
}

// AllPairs lists every cell from every source to every target (self pairs
// included) on every port: the full matrix.
func AllPairs(sources []string, targets []Target, ports []PortProtocol) []Cell {
	cells := make([]Cell, 0, len(sources)*len(targets)*len(ports))
	for _, from := range sources {
		for _, to := range targets {
			for _, pp := range ports {
				cells = append(cells, Cell{From: from, To: to, Port: pp.Port, Protocol: pp.Protocol})
			}
		}
	}
	return cells
}

// Observed is the outcome of one Run: one Result per cell.
type Observed struct {
	Results map[Key]agent.Result
}

// Outcome of a cell; a cell that was not probed is Error.
func (o Observed) Outcome(k Key) agent.Outcome {
	r, ok := o.Results[k]
	if !ok {
		return agent.Error
	}
	return r.Outcome
}

// Keys lists the cells in a stable order: from, to, protocol, port.
func (o Observed) Keys() []Key {
	keys := make([]Key, 0, len(o.Results))
	for k := range o.Results {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.Port < b.Port
	})
	return keys
}

// Errors lists the cells whose probe could not run (Outcome Error): an
// infrastructure failure, never a verdict.
func (o Observed) Errors() []Key {
	var errs []Key
	for _, k := range o.Keys() {
		if o.Results[k].Outcome == agent.Error {
			errs = append(errs, k)
		}
	}
	return errs
}

// Option tunes Run.
type Option func(*runOptions)

type runOptions struct {
	probeTimeout time.Duration
	batchTimeout time.Duration
	parallelPods int
}

// WithProbeTimeout sets every probe's timeout (default agent.DefaultTimeout).
func WithProbeTimeout(d time.Duration) Option {
	return func(o *runOptions) { o.probeTimeout = d }
}

// WithBatchTimeout bounds one source pod's whole batch, exec included
// (default: the probe timeout per round of agent.DefaultConcurrency probes,
// plus 30 s for the exec itself). A batch that overruns makes its cells
// Error.
func WithBatchTimeout(d time.Duration) Option {
	return func(o *runOptions) { o.batchTimeout = d }
}

// WithParallelSources bounds how many source pods probe at once (default:
// all of them).
func WithParallelSources(n int) Option {
	return func(o *runOptions) { o.parallelPods = n }
}

// batchExecGrace is what a batch may take beyond its probes: starting the
// exec, the agent, and reading its output.
const batchExecGrace = 30 * time.Second

// Run probes every cell: one batch per source pod, the batches in
// parallel, each probe expecting the target's identity. It returns an error
// only for cells that cannot be probed as given (a duplicate cell, a target
// without IP, a bad port or protocol); a batch that fails makes its cells
// Error results, never blocked ones.
func Run(ctx context.Context, prober Prober, cells []Cell, opts ...Option) (Observed, error) {
	o := runOptions{probeTimeout: agent.DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	bySource, err := groupBySource(cells, o.probeTimeout)
	if err != nil {
		return Observed{}, err
	}
	sources := make([]string, 0, len(bySource))
	for s := range bySource {
		sources = append(sources, s)
	}
	sort.Strings(sources)

	parallel := o.parallelPods
	if parallel <= 0 {
		parallel = len(sources)
	}
	slots := make(chan struct{}, max(parallel, 1))
	observed := Observed{Results: make(map[Key]agent.Result, len(cells))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, source := range sources {
		b := bySource[source]
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			results := runBatch(ctx, prober, source, b, o)
			mu.Lock()
			defer mu.Unlock()
			for k, r := range results {
				observed.Results[k] = r
			}
		})
	}
	wg.Wait()
	return observed, nil
}

// batch is one source pod's probes; probes[i] is cells[i]'s probe, with ID i.
type batch struct {
	cells  []Cell
	probes []agent.Probe
}

func groupBySource(cells []Cell, timeout time.Duration) (map[string]*batch, error) {
	seen := make(map[Key]bool, len(cells))
	bySource := map[string]*batch{}
	for _, c := range cells {
		proto := strings.ToUpper(c.Protocol)
		if proto != agent.TCP && proto != agent.UDP && proto != agent.SCTP {
			return nil, fmt.Errorf("cell %s: protocol %q is not TCP, UDP or SCTP", c.Key(), c.Protocol)
		}
		c.Protocol = proto
		if c.From == "" || c.To.Pod == "" {
			return nil, fmt.Errorf("cell %s: source and target pods must be named", c.Key())
		}
		if net.ParseIP(c.To.IP) == nil {
			return nil, fmt.Errorf("cell %s: target IP %q is not an IP address", c.Key(), c.To.IP)
		}
		if c.Port < 1 || c.Port > 65535 {
			return nil, fmt.Errorf("cell %s: port %d out of range 1-65535", c.Key(), c.Port)
		}
		k := c.Key()
		if seen[k] {
			return nil, fmt.Errorf("cell %s listed twice", k)
		}
		seen[k] = true
		b := bySource[c.From]
		if b == nil {
			b = &batch{}
			bySource[c.From] = b
		}
		b.probes = append(b.probes, agent.Probe{
			ID:       strconv.Itoa(len(b.cells)),
			To:       net.JoinHostPort(c.To.IP, strconv.Itoa(int(c.Port))),
			Protocol: proto,
			Timeout:  timeout,
			Expect:   c.To.Pod,
		})
		b.cells = append(b.cells, c)
	}
	return bySource, nil
}

// runBatch runs one source's batch and keys its results; every cell gets a
// Result, an Error one when the batch failed or left it out.
func runBatch(ctx context.Context, prober Prober, source string, b *batch, o runOptions) map[Key]agent.Result {
	timeout := o.batchTimeout
	if timeout <= 0 {
		rounds := (len(b.probes) + agent.DefaultConcurrency - 1) / agent.DefaultConcurrency
		timeout = time.Duration(rounds)*o.probeTimeout + batchExecGrace
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	results, err := prober.ProbeBatch(ctx, source, b.probes)

	byID := make(map[string]agent.Result, len(results))
	for _, r := range results {
		byID[r.ID] = r
	}
	out := make(map[Key]agent.Result, len(b.cells))
	for i, c := range b.cells {
		p := b.probes[i]
		r, ok := byID[p.ID]
		switch {
		case err != nil:
			r = agent.Result{Outcome: agent.Error, Error: fmt.Sprintf("batch from %s failed: %v", source, err)}
		case !ok:
			r = agent.Result{Outcome: agent.Error, Error: fmt.Sprintf("batch from %s returned no result for this probe", source)}
		}
		r.ID, r.To, r.Protocol = p.ID, p.To, p.Protocol
		out[c.Key()] = r
	}
	return out
}
