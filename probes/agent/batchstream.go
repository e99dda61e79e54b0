package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// BatchEnd ends one batch's results in `probe batch --stream`.
type BatchEnd struct {
	BatchEnd int `json:"batchEnd"`
}

// serveBatchStream runs batch after batch read from in, writing each one's
// results and then its BatchEnd line, until in closes.
func serveBatchStream(ctx context.Context, in io.Reader, out *json.Encoder, concurrency int, timeout time.Duration) error {
	dec := json.NewDecoder(in)
	for {
		var probes []Probe
		if err := dec.Decode(&probes); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading a batch (a JSON array of probes): %w", err)
		}
		var writeErr error
		RunBatch(ctx, probes, concurrency, timeout, func(r Result) {
			if err := out.Encode(r); err != nil && writeErr == nil {
				writeErr = err
			}
		})
		if writeErr == nil {
			writeErr = out.Encode(BatchEnd{BatchEnd: len(probes)})
		}
		if writeErr != nil {
			return &runFailure{fmt.Errorf("writing results: %w", writeErr)}
		}
	}
}
