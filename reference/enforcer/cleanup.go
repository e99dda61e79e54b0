package enforcer

import (
	"context"
	"errors"
	"fmt"
)

// Cleanup removes the jumps and every chain with the enforcer's prefix, in
// every configured family, inside the WithNetNS namespace if given. It is what
// `enforcer --cleanup` runs.
func Cleanup(ctx context.Context, opts ...Option) error {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("enforcer cleanup: %w", err)
	}
	return inNetNS(cfg.netnsPath, func() error {
		backend := cfg.backend
		if backend == BackendAuto {
			detected, err := detectBackend(ctx)
			if err != nil {
				return fmt.Errorf("enforcer cleanup: %w", err)
			}
			backend = detected
		}
		var errs []error
		for _, family := range cfg.families {
			a, err := newApplier(family, backend, cfg.chainPrefix)
			if family == IPv6 && !cfg.familiesChosen {
				if err == nil {
					_, err = a.ownedChains(ctx)
				}
				if err != nil {
					continue // no usable ip6tables: nothing of ours can be there
				}
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := a.removeAll(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("enforcer cleanup: %w", err)
		}
		return nil
	})
}
