package checkout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"shopedge/core/api"
	"shopedge/store"
)

// Expiry by order time. A checkout writes no expiry index entries: orders
// sit at time-ordered keys (ord/{created ns}{random}), so the sweeper finds
// reservations to expire, and idempotency records to drop, by scanning the
// orders created since its last pass, each scan remembering the last order
// it passed in a mark key. Only what a scan cannot settle yet gets an
// explicit index entry: an order still pending but not due (a longer
// ReservationTTL than the sweeper's), an idempotency record not yet due,
// and an order whose id was drawn more than ReservationTTL/2 before it was
// stored (reserveLinesTx indexes those at once).
//
// Why a scan misses nothing: it passes orders created before now−TTL. An
// order stored later than that scan carries a key time after its store
// time − TTL/2, so after the scan's end as long as the cores' clocks agree
// within TTL/2 (the payment lease already relies on agreeing clocks).

// Scan marks: the raw id of the last order each scan passed. They sort
// after every index entry ('~' is above the first byte of any unix time in
// big-endian), so index scans never meet them.
var (
	resvMarkKey = []byte(store.NSResv + "~scanned")
	idemMarkKey = []byte(store.NSIdemExp + "~scanned")
)

// orderHead decodes the fixed start of a stored order: its format version,
// status code, flags and the hash of its Idempotency-Key.
func orderHead(v []byte) (version, status, flags byte, idem keyHash, ok bool) {
	if len(v) < 3+32+32 || (v[0] != recVersion && v[0] != recVersion1) {
		return 0, 0, 0, idem, false
	}
	copy(idem[:], v[3+32:])
	return v[0], v[1], v[2], idem, true
}

// scannedOrder is one order a scan passed.
type scannedOrder struct {
	id     orderID
	status byte
	idem   keyHash
	// refundV1: a version 1 order whose refund had failed.
	refundV1 bool
}

// scanOrders returns, on a snapshot, up to SweepBatch orders after the one
// named by markKey that were created before endNs, in key order.
func (s *Service) scanOrders(ctx context.Context, markKey []byte, endNs int64) ([]scannedOrder, error) {
	var out []scannedOrder
	err := s.st.View(ctx, func(tx store.Txn) error {
		out = out[:0]
		start := []byte(store.NSOrder)
		if m, err := tx.Get(markKey); err == nil && len(m) == orderIDRaw {
			start = append(append(start, m...), 0)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		end := store.AppendUint64([]byte(store.NSOrder), uint64(max(endNs, 0)))
		return tx.Scan(start, end, s.cfg.SweepBatch, func(k, v []byte) error {
			o := scannedOrder{}
			if len(k) != len(store.NSOrder)+orderIDRaw {
				return nil
			}
			copy(o.id[:], k[len(store.NSOrder):])
			version, status, flags, idem, ok := orderHead(v)
			if ok {
				o.status, o.idem = status, idem
				o.refundV1 = version == recVersion1 && flags&flagRefundPendingV1 != 0
				out = append(out, o)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cannot scan orders: %w", err)
	}
	return out, nil
}

// advanceMarkTx moves markKey to id unless it is already past it.
func advanceMarkTx(tx store.Txn, markKey []byte, id orderID) error {
	cur, err := tx.Get(markKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && bytes.Compare(cur, id[:]) >= 0 {
		return nil
	}
	return tx.Set(markKey, id[:])
}

// expireScanned expires the pending orders of one scanned chunk whose time
// has come, indexes those that are pending but not due, and moves the
// reservation mark past the chunk. It returns how many orders it expired.
// An order whose charge is in doubt is never expired here: it is handed to
// the reconciler (see sweepPendingTx).
func (s *Service) expireScanned(ctx context.Context, chunk []scannedOrder, now int64) (int, error) {
	expired := 0
	pending := statusCode(api.OrderPendingPayment)
	for _, so := range chunk {
		if so.status != pending {
			continue
		}
		var did bool
		err := s.retry(ctx, func() error {
			return s.st.Update(ctx, func(tx store.Txn) error {
				did = false
				o, err := loadOrderTx(tx, so.id.String())
				if err != nil {
					return err
				}
				switch {
				case o.Status != api.OrderPendingPayment || o.Indexed:
					return nil // ended meanwhile, or its index entry expires it
				case o.ExpiresAt > now:
					o.Indexed = true
					if err := tx.Set(resvKey(o.ExpiresAt, o.ID), nil); err != nil {
						return err
					}
					return saveOrderTx(tx, o)
				}
				did, err = s.sweepPendingTx(tx, o)
				return err
			})
		})
		if err != nil {
			return expired, fmt.Errorf("cannot expire order %s: %w", so.id, err)
		}
		if did {
			expired++
		}
	}
	err := s.st.Update(ctx, func(tx store.Txn) error { return advanceMarkTx(tx, resvMarkKey, chunk[len(chunk)-1].id) })
	if err != nil {
		return expired, fmt.Errorf("cannot advance the reservation scan: %w", err)
	}
	return expired, nil
}

// sweepReservationScan expires pending orders created before now −
// ReservationTTL that the reservation scan has not passed yet.
func (s *Service) sweepReservationScan(ctx context.Context, now int64) (int, error) {
	endNs := (now - secs(s.cfg.ReservationTTL)) * int64(time.Second)
	expired := 0
	for ctx.Err() == nil {
		chunk, err := s.scanOrders(ctx, resvMarkKey, endNs)
		if err != nil || len(chunk) == 0 {
			return expired, err
		}
		n, err := s.expireScanned(ctx, chunk, now)
		expired += n
		if err != nil || len(chunk) < s.cfg.SweepBatch {
			return expired, err
		}
	}
	return expired, nil
}

// sweepIdempotencyScan drops the idempotency records of orders created
// before now − IdempotencyTTL (indexing any not due yet) and moves the
// idempotency mark past them.
func (s *Service) sweepIdempotencyScan(ctx context.Context, now int64) error {
	endNs := (now - secs(s.cfg.IdempotencyTTL)) * int64(time.Second)
	for ctx.Err() == nil {
		chunk, err := s.scanOrders(ctx, idemMarkKey, endNs)
		if err != nil || len(chunk) == 0 {
			return err
		}
		err = s.st.Update(ctx, func(tx store.Txn) error {
			for _, so := range chunk {
				rec, err := loadIdemTx(tx, so.idem)
				if err != nil {
					return err
				}
				switch {
				case rec == nil || (rec.State == idemOrder && rec.OrderID != so.id.String()):
				case rec.ExpiresAt <= now:
					if err := tx.Delete(idemKey(so.idem)); err != nil {
						return err
					}
				default:
					if err := tx.Set(idemExpKey(rec.ExpiresAt, so.id.unixNano(), so.idem), nil); err != nil {
						return err
					}
				}
			}
			return advanceMarkTx(tx, idemMarkKey, chunk[len(chunk)-1].id)
		})
		if err != nil {
			return fmt.Errorf("cannot sweep idempotency records: %w", err)
		}
		if len(chunk) < s.cfg.SweepBatch {
			return nil
		}
	}
	return nil
}
