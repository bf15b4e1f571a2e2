package checkout

import (
	"context"
	"errors"
	"fmt"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/store"
)

// payRun is one checkout request driving its order's payment, between the
// reservation and the last transaction.
type payRun struct {
	o       *orderRec
	token   string // the order's access token, for the 201 body
	keyHash keyHash
	// lease is the LeaseUntil this request holds the order by.
	lease int64
	// fresh is set while the order is as the reservation wrote it.
	fresh *written
	// lookup: the current attempt may have been sent by an earlier
	// request; look it up before anything else.
	lookup bool
}

// drive runs the payment: charge the current attempt (or look it up), and
// when it provably charged nothing — the request never left (ErrNotSent),
// or the gateway's lookup says so after an error — record the next
// attempt on the next gateway the router names and charge there. It never
// moves on while an attempt's outcome is unknown: it then leaves the order
// pending to a retry of the key or the reconciler (503 payment_unknown).
func (s *Service) drive(ctx context.Context, p *payRun) (Result, error) {
	for {
		i := len(p.o.Attempts) - 1
		var v verdict
		switch a := &p.o.Attempts[i]; {
		case a.known():
			v = verdict{outcome: a.Outcome, chargeID: a.ChargeID}
		case p.lookup:
			v = s.lookupAttempt(ctx, p.o, i)
		default:
			v = s.charge(ctx, p.o, i)
		}
		p.lookup = false
		switch v.outcome {
		case 0:
			return s.leaveUnknown(ctx, p, i, v.err)
		case payment.OutcomeNotCharged:
			next := p.o.nextGateway(s.route(p.o))
			if next == "" {
				break
			}
			ok, err := s.nextAttempt(ctx, p, i, next)
			if err != nil {
				return Result{}, s.unknownAnswer(p.o, fmt.Errorf("cannot record the next payment attempt: %w", err))
			}
			if ok {
				continue
			}
		}
		return s.finish(ctx, p, i, v)
	}
}

// route returns the gateways the router names for o's payment that it
// also knows, best first.
func (s *Service) route(o *orderRec) []string {
	names := s.pay.Route(o.PayToken, o.Totals)
	out := names[:0:0]
	for _, n := range names {
		if s.pay.Gateway(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

// charge calls attempt i's gateway; the attempt was recorded by this
// request and never sent before. An error that neither declines nor proves
// the request never left is looked up at once: the gateway often knows (a
// 5xx before charging, a reply lost after charging).
func (s *Service) charge(ctx context.Context, o *orderRec, i int) verdict {
	name := o.Attempts[i].Gateway
	gw := s.pay.Gateway(name)
	if gw == nil {
		// Not configured (any more): nothing was sent.
		return verdict{outcome: payment.OutcomeNotCharged, err: fmt.Errorf("payment gateway %q is not configured: %w", name, payment.ErrNotSent)}
	}
	req := o.chargeRequest(i)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PaymentTimeout)
	ch, err := gw.Charge(cctx, req)
	cancel()
	switch {
	case err == nil:
		return verdict{outcome: payment.OutcomeCharged, chargeID: ch.ID}
	case payment.IsDecline(err):
		return verdict{outcome: payment.OutcomeDeclined, decline: err}
	case errors.Is(err, payment.ErrNotSent):
		return verdict{outcome: payment.OutcomeNotCharged, err: err}
	}
	s.log.Warn().Err(err).Str("order", o.ID).Str("gateway", name).Int("attempt", i+1).Msg("charge failed; looking it up")
	v := s.lookupAttempt(ctx, o, i)
	if v.outcome == 0 {
		v.err = fmt.Errorf("charge: %w; lookup: %w", err, v.err)
	}
	return v
}

// lookupAttempt asks attempt i's gateway what it did.
func (s *Service) lookupAttempt(ctx context.Context, o *orderRec, i int) verdict {
	name := o.Attempts[i].Gateway
	gw := s.pay.Gateway(name)
	if gw == nil {
		return verdict{err: fmt.Errorf("payment gateway %q is not configured", name)}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PaymentTimeout)
	r, err := gw.Lookup(cctx, o.chargeRequest(i))
	cancel()
	if err != nil {
		return verdict{err: err}
	}
	switch r.Outcome {
	case payment.OutcomeCharged:
		return verdict{outcome: r.Outcome, chargeID: r.ChargeID}
	case payment.OutcomeDeclined:
		d := r.Decline
		if d == nil {
			d = payment.ErrDeclined
		}
		return verdict{outcome: r.Outcome, decline: d}
	case payment.OutcomeNotCharged:
		return verdict{outcome: r.Outcome}
	}
	return verdict{err: fmt.Errorf("payment gateway %q answered a lookup with outcome %d", name, r.Outcome)}
}

// nextAttempt records, in one transaction, that attempt i charged nothing
// and that attempt i+1 goes to gateway next, renewing the lease. It
// reports false, changing nothing, when the order is no longer this
// request's to drive (ended, taken over, or moved on).
func (s *Service) nextAttempt(ctx context.Context, p *payRun, i int, next string) (bool, error) {
	var o *orderRec
	err := s.retry(ctx, func() error {
		return s.st.Update(context.WithoutCancel(ctx), func(tx store.Txn) error {
			o = nil
			cur, err := loadOrderTx(tx, p.o.ID)
			if err != nil {
				return err
			}
			if cur.Status != api.OrderPendingPayment || len(cur.Attempts) != i+1 || cur.LeaseUntil != p.lease || cur.Attempts[i].known() && cur.Attempts[i].Outcome != payment.OutcomeNotCharged {
				return nil
			}
			cur.Attempts[i].Outcome = payment.OutcomeNotCharged
			cur.Attempts = append(cur.Attempts, attempt{Gateway: next})
			cur.LeaseUntil = s.now() + s.leaseSecs()
			o = cur
			return saveOrderTx(tx, cur)
		})
	})
	if err != nil || o == nil {
		return false, err
	}
	s.failovers.Inc()
	s.log.Info().Str("order", o.ID).Str("from", o.Attempts[i].Gateway).Str("to", next).Msg("nothing was charged; trying the next gateway")
	p.o, p.lease, p.fresh = o, o.LeaseUntil, nil
	return true, nil
}

// finish runs the last transaction with attempt i's verdict and returns
// the request's answer.
func (s *Service) finish(ctx context.Context, p *payRun, i int, v verdict) (Result, error) {
	o := p.o
	fq := finalizeReq{keyHash: p.keyHash, orderID: o.ID, token: p.token, idx: i, v: v}
	if p.fresh != nil && i == 0 && v.outcome == payment.OutcomeCharged {
		if err := precomputePaid(&fq, o, p.fresh); err != nil {
			return Result{}, fmt.Errorf("cannot encode paid order: %w", err)
		}
	}
	var fr finalizeRes
	err := s.retry(ctx, func() error {
		return s.pipe.do(context.WithoutCancel(ctx), func(tx store.Txn) (err error) { fr, err = s.finalizeTx(tx, fq); return err })
	})
	if err != nil {
		if api.ErrorCode(err) == api.ECodeInFlight {
			return Result{}, err
		}
		s.log.Error().Err(err).Str("order", o.ID).Msg("cannot record the payment's outcome; the order stays pending for the reconciler")
		return Result{}, s.unknownAnswer(o, nil)
	}
	switch fr.effect {
	case settledPaid:
		s.paid.Inc()
	case settledReleased:
		if v.outcome == payment.OutcomeDeclined {
			s.declined.Inc()
		} else {
			s.notCharged.Inc()
		}
	case settledRefund:
		s.lateCharges.Inc()
		s.wakeReconciler()
	}
	return Result{Status: fr.status, Body: fr.body}, nil
}

// leaveUnknown is the end of a request whose current attempt's outcome is
// unknown (the gateway and its lookup did not tell): the order stays
// pending with its stock, goes into the reconciliation queue, and its
// lease is shortened to PaymentRetryAfter, after which a retry of the key
// or the reconciler looks the attempt up again.
func (s *Service) leaveUnknown(ctx context.Context, p *payRun, i int, why error) (Result, error) {
	s.unknown.Inc()
	s.log.Warn().Err(why).Str("order", p.o.ID).Int("attempt", i+1).Msg("payment outcome unknown; the order stays pending")
	err := s.retry(ctx, func() error {
		return s.st.Update(context.WithoutCancel(ctx), func(tx store.Txn) error {
			o, err := loadOrderTx(tx, p.o.ID)
			if err != nil {
				return err
			}
			if i >= len(o.Attempts) || o.Attempts[i].known() {
				return nil
			}
			if o.Status == api.OrderPendingPayment && o.LeaseUntil == p.lease {
				o.LeaseUntil = s.now() + secs(s.cfg.PaymentRetryAfter)
			}
			if err := enqueueTx(tx, o); err != nil {
				return err
			}
			return saveOrderTx(tx, o)
		})
	})
	if err != nil {
		// The reconciler's scan finds the order anyway.
		s.log.Error().Err(err).Str("order", p.o.ID).Msg("cannot queue the order for reconciliation")
	}
	return Result{}, s.unknownAnswer(p.o, nil)
}

// unknownAnswer is the 503 payment_unknown of order o: retry the same
// Idempotency-Key after Retry-After (the HTTP layer sets it from
// PaymentRetryAfter).
func (s *Service) unknownAnswer(o *orderRec, err error) error {
	if err != nil {
		s.log.Error().Err(err).Str("order", o.ID).Msg("payment left pending")
	}
	return &api.Error{
		Code:    api.ECodePaymentUnknown,
		Message: "the payment's outcome is not known yet; the order keeps its stock until it is: retry with the same Idempotency-Key",
		Details: map[string]string{"order_id": o.ID},
	}
}

// PaymentRetryAfter returns the Retry-After, in whole seconds, of a 503
// payment_unknown answer.
func (s *Service) PaymentRetryAfter() int64 { return secs(s.cfg.PaymentRetryAfter) }
