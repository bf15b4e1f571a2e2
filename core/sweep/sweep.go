// Package sweep runs the core's background clean-up passes (expired carts,
// reservations, idempotency records) on an interval. Every pass is a store
// transaction that re-checks what it removes, so several core processes may
// sweep the same store at once.
package sweep

import (
	"context"
	"time"

	"github.com/rs/zerolog"
)

// Every calls once every interval until ctx ends. A failed pass is logged
// and retried at the next tick; a pass that removed something logs how
// many, as what.
func Every(ctx context.Context, interval time.Duration, log zerolog.Logger, what string, once func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := once(ctx); err != nil {
			log.Warn().Err(err).Str("sweep", what).Msg("sweep failed")
		} else if n > 0 {
			log.Info().Int(what, n).Msg("swept")
		}
	}
}
