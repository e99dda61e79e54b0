package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// DefaultConcurrency bounds how many probes of a batch run at once. A whole
// source pod's row (a few hundred probes) fits, so a batch against a dropping
// target takes one timeout, not several.
const DefaultConcurrency = 512

// RunBatch runs probes concurrently, at most concurrency at a time (<= 0:
// DefaultConcurrency), and calls emit with each Result as it completes;
// emit calls are serialized. A probe without a Timeout gets defaultTimeout.
func RunBatch(ctx context.Context, probes []Probe, concurrency int, defaultTimeout time.Duration, emit func(Result)) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	slots := make(chan struct{}, concurrency)
	var emitMu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range probes {
		if p.Timeout <= 0 {
			p.Timeout = defaultTimeout
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			res := Connect(ctx, p)
			emitMu.Lock()
			defer emitMu.Unlock()
			emit(res)
		})
	}
	wg.Wait()
}

// ReadProbes decodes a JSON array of Probe (the `probe batch` input).
// Timeouts may be numbers (nanoseconds) or Go duration strings ("500ms").
func ReadProbes(r io.Reader) ([]Probe, error) {
	var probes []Probe
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&probes); err != nil {
		return nil, fmt.Errorf("reading probes (a JSON array of {id,to,protocol,timeout,expect}): %w", err)
	}
	for i, p := range probes {
		if p.To == "" {
			return nil, fmt.Errorf("probe %d (id %q): missing \"to\"", i, p.ID)
		}
	}
	return probes, nil
}

// UnmarshalJSON accepts timeout as nanoseconds (how Go encodes a Duration)
// or as a duration string, which is easier to write by hand.
func (p *Probe) UnmarshalJSON(b []byte) error {
	type plain Probe
	var aux struct {
		plain
		Timeout json.RawMessage `json:"timeout,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	*p = Probe(aux.plain)
	if len(aux.Timeout) == 0 || string(aux.Timeout) == "null" {
		return nil
	}
	var ns int64
	if err := json.Unmarshal(aux.Timeout, &ns); err == nil {
		p.Timeout = time.Duration(ns)
		return nil
	}
	var s string
	if err := json.Unmarshal(aux.Timeout, &s); err != nil {
		return fmt.Errorf("probe timeout %s: want nanoseconds or a duration string", aux.Timeout)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("probe timeout: %w", err)
	}
	p.Timeout = d
	return nil
}
