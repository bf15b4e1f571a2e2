package cart

import (
	"context"
	"errors"
	"fmt"

	"shopedge/core/api"
	"shopedge/core/sweep"
	"shopedge/store"
)

// SweepOnce removes carts that expired by now, at most Config.SweepBatch per
// transaction, until none is left or ctx ends. It returns how many carts it
// removed. Each transaction re-reads every cart before deleting it, so
// several core processes may sweep at once: a cart written meanwhile (its
// expiry slid) is kept, and conflicting sweepers are retried by the store.
func (s *Service) SweepOnce(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		now := s.Now()
		var n, seen int
		err := s.st.Update(ctx, func(tx store.Txn) error {
			n, seen = 0, 0
			var keys [][]byte
			end := store.AppendUint64([]byte(store.NSCartExp), uint64(now)+1)
			err := tx.Scan([]byte(store.NSCartExp), end, s.cfg.SweepBatch, func(k, _ []byte) error {
				keys = append(keys, append([]byte(nil), k...))
				return nil
			})
			if err != nil {
				return fmt.Errorf("cannot scan cart expiry index: %w", err)
			}
			seen = len(keys)
			for _, k := range keys {
				id := string(k[len(store.NSCartExp)+9:])
				_, err := tx.Get(cartKey(id))
				switch {
				case errors.Is(err, store.ErrNotFound):
					// Consumed by a checkout (see ConsumeTx) or swept.
				case err != nil:
					return fmt.Errorf("cannot read cart %s: %w", id, err)
				default:
					if _, err := LoadTx(tx, id, now); api.ErrorCode(err) == api.ECodeNotFound {
						// Expired → remove the record.
						if err := tx.Delete(cartKey(id)); err != nil {
							return fmt.Errorf("cannot delete cart %s: %w", id, err)
						}
						n++
					} else if err != nil {
						return err
					}
				}
				// Either way this index entry is stale now.
				if err := tx.Delete(k); err != nil {
					return fmt.Errorf("cannot unindex cart %s: %w", id, err)
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("cannot sweep carts: %w", err)
		}
		total += n
		if seen < s.cfg.SweepBatch {
			break
		}
	}
	return total, nil
}

// RunSweeper calls SweepOnce every Config.SweepInterval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context) {
	sweep.Every(ctx, s.cfg.SweepInterval, s.log, "carts", s.SweepOnce)
}
