// Package checkout turns carts into orders: it reserves stock, charges the
// payment gateway outside any transaction, marks orders paid or releases
// their stock, keeps Stripe-style idempotency records, reconciles payments
// whose outcome was lost and finishes refunds.
//
// A checkout is two store transactions around the gateway calls:
//
//  1. reserve: check the Idempotency-Key, re-price the cart from the catalog,
//     reserve every line (all or nothing), write the order pending_payment
//     with a reservation that expires and its first charge attempt (the
//     gateway the router picked; the attempt's key is the order id), freeze
//     the cart, and write an in-flight idempotency record;
//  2. charge the attempt (bounded by Config.PaymentTimeout); when the call
//     fails without a decline, look the attempt up at once; when the
//     attempt provably charged nothing, record the next attempt on the next
//     gateway and charge there (see drive);
//  3. finalize: the outcome recorded on the attempt, and the order paid
//     (reserved stock turned into sold) — or, on a decline or when nothing
//     was charged, the order payment_failed, the stock released, the cart
//     unfrozen — and the response stored with the key, to be replayed byte
//     for byte.
//
// When the outcome stays unknown the order stays pending with its stock:
// a retry of the key after the lease, or the reconciler (RunReconciler),
// looks the attempt up and finalizes the order, or releases it; a charge
// that turns up for an order that ended is refunded, durably (refund.go).
//
// With Config.GroupCommit the reserve and finalize transactions of
// concurrent checkouts are combined, many per store transaction (see
// pipeline), so a flash sale on one SKU costs one transaction per batch.
// RunSweeper expires reservations and idempotency records; it and
// RunReconciler are safe to run on several core processes at once.
package checkout

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/payment"
	"shopedge/internal/retry"
	"shopedge/store"
)

// Catalog is what checkout needs from the catalog (implemented by
// *catalog.Service).
type Catalog interface {
	cart.Catalog
	// AdjustStock reads the SKU's stock in tx, applies fn, checks the
	// invariant (none negative, reserved+sold <= on_hand), writes it, and
	// appends a change-feed event if the SKU's availability band changed.
	AdjustStock(tx store.Txn, sku string, fn func(s *api.Stock) error) error
	// StockTx reads the SKU's stock in tx.
	StockTx(tx store.Txn, sku string) (api.Stock, error)
}

// notifier is implemented by catalogs whose change feed wants a wake-up
// after a commit that may have appended events.
type notifier interface{ Notify() }

// Service is the checkout and order service. It is safe for concurrent use;
// it owns one pipeline goroutine (with group commit) until Close.
type Service struct {
	st  store.Store
	cat Catalog
	pay payment.Router
	cfg Config
	log zerolog.Logger

	pipe *pipeline
	skus *skuCache
	// soldOut caches sold-out answers (see soldOutBody), slots indexed
	// like skus.
	soldOut [64]atomic.Pointer[soldOut]
	// wake asks RunReconciler for a pass now (a refund was recorded).
	wake chan struct{}

	paid, declined, notCharged, outOfStock, replayed, unknown, frozen *metrics.Counter
	failovers, lateCharges                                            *metrics.Counter
	rec                                                               *reconcileMetrics
}

// New returns a checkout service that charges through the gateways of pay.
// ms receives its metrics (nil: none are exported). Close it to stop its
// goroutines.
func New(st store.Store, cat Catalog, pay payment.Router, cfg Config, log zerolog.Logger, ms *metrics.Set) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	s := &Service{
		st: st, cat: cat, pay: pay, cfg: cfg, log: log, skus: newSKUCache(), wake: make(chan struct{}, 1),
		paid:        ms.GetOrCreateCounter(`shopedge_checkouts_total{result="paid"}`),
		declined:    ms.GetOrCreateCounter(`shopedge_checkouts_total{result="declined"}`),
		notCharged:  ms.GetOrCreateCounter(`shopedge_checkouts_total{result="not_charged"}`),
		outOfStock:  ms.GetOrCreateCounter(`shopedge_checkouts_total{result="out_of_stock"}`),
		replayed:    ms.GetOrCreateCounter(`shopedge_checkouts_total{result="replayed"}`),
		unknown:     ms.GetOrCreateCounter(`shopedge_checkouts_total{result="payment_unknown"}`),
		frozen:      ms.GetOrCreateCounter(`shopedge_checkouts_total{result="cart_frozen"}`),
		failovers:   ms.GetOrCreateCounter(`shopedge_payment_failovers_total`),
		lateCharges: ms.GetOrCreateCounter(`shopedge_payment_late_charges_total`),
	}
	s.rec = newReconcileMetrics(ms)
	s.registerGauges(ms)
	var after func()
	if n, ok := cat.(notifier); ok {
		after = n.Notify
	}
	s.pipe = newPipeline(st, cfg, after, ms.GetOrCreateHistogram(`shopedge_checkout_batch_size`))
	return s, nil
}

// Close stops the pipeline; requests still queued fail. Call it after the
// HTTP server has stopped. Calling it again does nothing.
func (s *Service) Close() { s.pipe.close() }

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) now() int64 { return s.cfg.Now().Unix() }

// Result is a checkout's HTTP answer: Status and the exact Body bytes, the
// same on every replay of the Idempotency-Key.
type Result struct {
	Status   int
	Body     []byte
	Replayed bool
}

// Checkout runs one checkout for Idempotency-Key key. fingerprint is
// Fingerprint(method, path, body) of the HTTP request. The returned Result
// is stored with the key (success, out of stock, declined, nothing
// charged, ended); errors are not (invalid input, unknown cart, a cart
// another checkout froze 409, key reuse 422, key in flight 409, payment
// outcome unknown 503 — retry with the same key).
func (s *Service) Checkout(ctx context.Context, key, fingerprint string, req api.CheckoutRequest) (Result, error) {
	if err := ValidateRequest(key, req); err != nil {
		return Result{}, err
	}
	q := reserveReq{
		keyHash: hashKey(key), fp: fingerprint, cartID: req.CartID, email: req.Email,
		orderID: newOrderID(s.cfg.Now().UnixNano()), token: cart.NewID(), payToken: req.PaymentToken,
	}
	var rr reserveRes
	err := s.retry(ctx, func() error {
		return s.pipe.do(ctx, func(tx store.Txn) (err error) { rr, err = s.reserveTx(tx, q); return err })
	})
	if err != nil {
		if ae := (*api.Error)(nil); errors.As(err, &ae) && ae.Code == api.ECodeConflict && ae.Field == "cart_id" {
			s.frozen.Inc()
		}
		return Result{}, s.internal(err, "cannot reserve")
	}
	if rr.order == nil {
		if rr.replayed {
			s.replayed.Inc()
		} else {
			s.outOfStock.Inc()
		}
		return Result{Status: rr.status, Body: rr.body, Replayed: rr.replayed}, nil
	}
	return s.drive(ctx, &payRun{o: rr.order, token: rr.token, keyHash: q.keyHash, lease: rr.order.LeaseUntil, fresh: rr.fresh, lookup: rr.resume})
}

// declineError is the stored answer of a declined checkout.
func declineError(err error) *api.Error {
	switch {
	case errors.Is(err, payment.ErrInsufficientFunds):
		return api.Errorf(api.ECodePaymentDeclined, "the payment was declined: insufficient funds")
	case errors.Is(err, payment.ErrInvalidToken):
		return &api.Error{Code: api.ECodePaymentDeclined, Field: "payment_token", Message: "the payment token is not valid"}
	default:
		return api.Errorf(api.ECodePaymentDeclined, "the payment was declined")
	}
}

// retry runs fn again after an undetermined commit or a conflict the store
// did not see (errRequestConflict: one request's inside a batch), at most
// Config.Retries times, by shopedge's one retry policy (internal/retry).
// fn must be safe to repeat: the transactions recognise their own earlier
// writes (order id, charge id). A conflict of a whole transaction is not
// retried here: the store retried it already under its own budget
// (store.ErrConflict means it gave up), and retrying it again multiplied
// the two (5 × 30 runs on TiKV).
func (s *Service) retry(ctx context.Context, fn func() error) error {
	p := retry.Policy{Retries: s.cfg.Retries, Base: 5 * time.Millisecond, Max: 100 * time.Millisecond}
	return p.Do(ctx, func(err error) bool {
		return errors.Is(err, store.ErrUndetermined) || errors.Is(err, errRequestConflict)
	}, fn)
}

// internal passes *api.Error through and wraps anything else.
func (s *Service) internal(err error, what string) error {
	var e *api.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ValidateRequest checks a checkout's Idempotency-Key and body fields,
// naming the first bad field (api.ValidateCheckout: an edge checks the
// same before it answers a checkout in the core's stead).
func ValidateRequest(key string, req api.CheckoutRequest) error {
	return api.ValidateCheckout(key, req)
}

// ValidateKey checks an Idempotency-Key: 1–255 printable ASCII bytes.
func ValidateKey(key string) error { return api.ValidateIdempotencyKey(key) }
