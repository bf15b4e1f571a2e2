package routing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/payment"
)

// instrumented is a payment.Gateway that counts and times every call of
// the gateway it wraps.
type instrumented struct {
	g payment.Gateway

	attempts                          *metrics.Counter
	charged, declined, notSent, unkn  *metrics.Counter
	lkCharged, lkDeclined, lkNot, lkE *metrics.Counter
	rfAccepted, rfRefused, rfErr      *metrics.Counter
	chargeDur, lookupDur, refundDur   *metrics.Histogram
}

// Instrument wraps g so that its calls are counted and timed on ms under
// the label gateway="name":
//
//	shopedge_payment_charge_attempts_total{gateway}
//	shopedge_payment_charges_total{gateway, outcome}  charged | declined | not_sent | unknown
//	shopedge_payment_lookups_total{gateway, outcome}  charged | declined | not_charged | error
//	shopedge_payment_refunds_total{gateway, outcome}  accepted | refused | error
//	shopedge_payment_duration_seconds{gateway, op}    charge | lookup | refund (histogram)
//	shopedge_payment_authorization_rate{gateway}      charged ÷ (charged + declined) since start
func Instrument(name string, g payment.Gateway, ms *metrics.Set) payment.Gateway {
	c := func(metric, outcome string) *metrics.Counter {
		return ms.GetOrCreateCounter(fmt.Sprintf(`shopedge_payment_%s_total{gateway=%q,outcome=%q}`, metric, name, outcome))
	}
	h := func(op string) *metrics.Histogram {
		return ms.GetOrCreateHistogram(fmt.Sprintf(`shopedge_payment_duration_seconds{gateway=%q,op=%q}`, name, op))
	}
	in := &instrumented{
		g:          g,
		attempts:   ms.GetOrCreateCounter(fmt.Sprintf(`shopedge_payment_charge_attempts_total{gateway=%q}`, name)),
		charged:    c("charges", "charged"),
		declined:   c("charges", "declined"),
		notSent:    c("charges", "not_sent"),
		unkn:       c("charges", "unknown"),
		lkCharged:  c("lookups", "charged"),
		lkDeclined: c("lookups", "declined"),
		lkNot:      c("lookups", "not_charged"),
		lkE:        c("lookups", "error"),
		rfAccepted: c("refunds", "accepted"),
		rfRefused:  c("refunds", "refused"),
		rfErr:      c("refunds", "error"),
		chargeDur:  h("charge"),
		lookupDur:  h("lookup"),
		refundDur:  h("refund"),
	}
	ms.GetOrCreateGauge(fmt.Sprintf(`shopedge_payment_authorization_rate{gateway=%q}`, name), func() float64 {
		ok, no := in.charged.Get(), in.declined.Get()
		if ok+no == 0 {
			return 0
		}
		return float64(ok) / float64(ok+no)
	})
	return in
}

func (in *instrumented) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	in.attempts.Inc()
	start := time.Now()
	c, err := in.g.Charge(ctx, req)
	in.chargeDur.UpdateDuration(start)
	switch {
	case err == nil:
		in.charged.Inc()
	case payment.IsDecline(err):
		in.declined.Inc()
	case errors.Is(err, payment.ErrNotSent):
		in.notSent.Inc()
	default:
		in.unkn.Inc()
	}
	return c, err
}

func (in *instrumented) Lookup(ctx context.Context, req payment.ChargeRequest) (payment.LookupResult, error) {
	start := time.Now()
	res, err := in.g.Lookup(ctx, req)
	in.lookupDur.UpdateDuration(start)
	switch {
	case err != nil:
		in.lkE.Inc()
	case res.Outcome == payment.OutcomeCharged:
		in.lkCharged.Inc()
	case res.Outcome == payment.OutcomeDeclined:
		in.lkDeclined.Inc()
	default:
		in.lkNot.Inc()
	}
	return res, err
}

func (in *instrumented) Refund(ctx context.Context, req payment.RefundRequest) (payment.Refund, error) {
	start := time.Now()
	r, err := in.g.Refund(ctx, req)
	in.refundDur.UpdateDuration(start)
	switch {
	case err == nil:
		in.rfAccepted.Inc()
	case errors.Is(err, payment.ErrRefundRefused):
		in.rfRefused.Inc()
	default:
		in.rfErr.Inc()
	}
	return r, err
}
