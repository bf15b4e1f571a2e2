package checkout

import (
	"context"
	"fmt"

	"shopedge/core/api"
	"shopedge/core/sweep"
	"shopedge/store"
)

// SweepOnce expires every reservation whose time has passed (order →
// expired, stock released, the checkout's idempotency record answered, the
// cart unfrozen) — except those of orders whose charge is in doubt, which
// it leaves to the reconciler — and removes expired idempotency records. It returns how many orders it
// expired. Each order is released in its own transaction that re-checks the
// order's status, so several core processes may sweep at once and a
// payment that completed first wins.
//
// Reservations and idempotency records are found by scanning the orders
// created since the last pass (see scan.go) and through their explicit
// index entries.
func (s *Service) SweepOnce(ctx context.Context) (int, error) {
	now := s.now()
	n, err := s.sweepReservationScan(ctx, now)
	if err != nil {
		return n, err
	}
	m, err := s.sweepReservations(ctx)
	n += m
	if m > 0 || n > 0 {
		if c, ok := s.cat.(notifier); ok {
			c.Notify()
		}
	}
	if err != nil {
		return n, err
	}
	if err := s.sweepIdempotencyScan(ctx, now); err != nil {
		return n, err
	}
	return n, s.sweepIdempotency(ctx)
}

// dueKeys returns up to SweepBatch index keys of ns due by now.
func (s *Service) dueKeys(ctx context.Context, ns string, now int64) ([][]byte, error) {
	var keys [][]byte
	end := store.AppendUint64([]byte(ns), uint64(now)+1)
	err := s.st.View(ctx, func(tx store.Txn) error {
		keys = keys[:0]
		return tx.Scan([]byte(ns), end, s.cfg.SweepBatch, func(k, _ []byte) error {
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cannot scan %s index: %w", ns, err)
	}
	return keys, nil
}

func (s *Service) sweepReservations(ctx context.Context) (int, error) {
	expired := 0
	for ctx.Err() == nil {
		now := s.now()
		keys, err := s.dueKeys(ctx, store.NSResv, now)
		if err != nil {
			return expired, err
		}
		for _, k := range keys {
			var did bool
			err := s.retry(ctx, func() error {
				return s.st.Update(ctx, func(tx store.Txn) error {
					did = false
					if err := tx.Delete(k); err != nil {
						return err
					}
					o, err := loadOrderTx(tx, resvKeyID(k))
					if api.ErrorCode(err) == api.ECodeNotFound {
						return nil
					}
					if err != nil {
						return err
					}
					if o.Status != api.OrderPendingPayment || o.ExpiresAt > now {
						return nil // paid, cancelled or failed meanwhile: a stale entry
					}
					o.Indexed = false // its entry is deleted above
					did, err = s.sweepPendingTx(tx, o)
					return err
				})
			})
			if err != nil {
				return expired, fmt.Errorf("cannot expire reservation: %w", err)
			}
			if did {
				expired++
			}
		}
		if expired > 0 {
			if n, ok := s.cat.(notifier); ok {
				n.Notify()
			}
		}
		if len(keys) < s.cfg.SweepBatch {
			break
		}
	}
	return expired, nil
}

// sweepPendingTx expires pending order o, whose reservation is due, and
// saves it: its stock is released, its checkout's key answered, its cart
// unfrozen. An order with a charge attempt in doubt keeps its stock: it is
// out of the reservation index and in the reconciler's queue instead, and
// the reconciler finalizes it (paid, if the charge went through) or
// releases it. It reports whether it expired o.
func (s *Service) sweepPendingTx(tx store.Txn, o *orderRec) (bool, error) {
	if o.unknown() >= 0 {
		if err := unindexTx(tx, o); err != nil {
			return false, err
		}
		if err := enqueueTx(tx, o); err != nil {
			return false, err
		}
		return false, saveOrderTx(tx, o)
	}
	if err := s.endPendingTx(tx, o, api.OrderExpired); err != nil {
		return false, err
	}
	return true, saveOrderTx(tx, o)
}

func (s *Service) sweepIdempotency(ctx context.Context) error {
	for ctx.Err() == nil {
		now := s.now()
		keys, err := s.dueKeys(ctx, store.NSIdemExp, now)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		err = s.st.Update(ctx, func(tx store.Txn) error {
			for _, k := range keys {
				if hash, ok := idemExpKeyHash(k); ok {
					rec, err := loadIdemTx(tx, hash)
					if err != nil {
						return err
					}
					if rec != nil && rec.ExpiresAt <= now {
						if err := tx.Delete(idemKey(hash)); err != nil {
							return err
						}
					}
				}
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cannot sweep idempotency records: %w", err)
		}
		if len(keys) < s.cfg.SweepBatch {
			return nil
		}
	}
	return nil
}

// RunSweeper calls SweepOnce every Config.SweepInterval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context) {
	sweep.Every(ctx, s.cfg.SweepInterval, s.log, "orders", s.SweepOnce)
}
