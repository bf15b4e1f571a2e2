package testpay

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// createPaymentIntent: POST /v1/payment_intents. With confirm=true the
// token's behaviour decides the outcome; with confirm=false the
// PaymentIntent is only created (it charges nothing).
func (s *Server) createPaymentIntent(ctx *fasthttp.RequestCtx) {
	f, e := requestForm(ctx)
	if e == nil {
		e = f.allow("amount", "currency", "confirm", "payment_method", "payment_method_types[]",
			"error_on_requires_action", "metadata[*]", "description", "capture_method")
	}
	amount, e := then(e, func() (int64, *APIError) { return f.amount("amount", true) })
	currency, e := then(e, f.currency)
	confirm, e := then(e, func() (bool, *APIError) { return f.boolean("confirm") })
	_, e = then(e, func() (bool, *APIError) { return f.boolean("error_on_requires_action") })
	meta, e := then(e, f.metadata)
	_, e = then(e, func() (string, *APIError) { return f.oneOf("capture_method", "automatic") })
	if e != nil {
		writeError(ctx, 400, e)
		return
	}
	for _, t := range f.list("payment_method_types") {
		if t != "card" {
			writeError(ctx, 400, invalid("payment_method_types", "testpay supports payment_method_types card only, got %q", clip(t)))
			return
		}
	}
	pm := f.get("payment_method")
	behave := BehaveInvalid
	if f.has("payment_method") {
		var ok bool
		if behave, _, ok = ParseToken(pm); !ok {
			writeError(ctx, 400, noSuch("payment_method", "PaymentMethod", clip(pm)))
			return
		}
	} else if confirm {
		writeError(ctx, 400, invalidCode("payment_method", "payment_intent_unexpected_state",
			"You cannot confirm this PaymentIntent because it's missing a payment method."))
		return
	}
	key, fp, done := s.begin(ctx, f)
	if done {
		return
	}
	defer s.finish(key)
	if confirm {
		switch behave {
		case BehaveSlow:
			s.sleep(s.cfg.SlowDelay)
		case BehaveError:
			// Before anything was charged or stored: a retry may succeed.
			writeError(ctx, 500, &APIError{Type: "api_error", Message: "An unknown error occurred (tok_error); nothing was charged."})
			return
		}
	}
	a := s.commit(key, fp, func(_ *state, now time.Time) (*record, answer) {
		pi := &PaymentIntent{
			ID: newID("pi_"), Object: "payment_intent", Amount: amount, Currency: currency,
			PaymentMethodTypes: []string{"card"}, CaptureMethod: "automatic", ConfirmationMethod: "automatic",
			Created: now.Unix(), Metadata: meta, Refunds: RefundList{Object: "list", Data: []*Refund{}},
		}
		if d := f.get("description"); d != "" {
			pi.Description = &d
		}
		if pm != "" {
			pi.PaymentMethod = &pm
		}
		switch {
		case !confirm && pm == "":
			pi.Status = StatusRequiresPaymentMethod
		case !confirm:
			pi.Status = StatusRequiresConfirmation
		case behave == BehaveDecline || behave == BehaveInsufficientFunds:
			ch := newID("ch_")
			pi.LatestCharge = &ch
			pi.Status = StatusRequiresPaymentMethod
			pi.LastPaymentError = declineOf(behave, pm)
			e := *pi.LastPaymentError
			e.PaymentIntent = pi
			return &record{PI: pi}, answer{status: 402, body: errorBody(&e), store: true}
		default: // ok, slow and the faults after the charge
			ch := newID("ch_")
			pi.LatestCharge = &ch
			pi.Status = StatusSucceeded
			pi.AmountReceived = amount
		}
		a := answer{status: 200, body: mustJSON(pi), store: true}
		if confirm {
			a.deliver = behave
		}
		return &record{PI: pi}, a
	})
	s.deliver(ctx, key, a)
}

// declineOf is the card error of a declining token.
func declineOf(b Behaviour, pm string) *APIError {
	e := &APIError{Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}
	if b == BehaveInsufficientFunds {
		e.DeclineCode, e.Message = "insufficient_funds", "Your card has insufficient funds."
	}
	e.DocURL = "https://stripe.com/docs/error-codes/card-declined"
	_ = pm
	return e
}

// then runs next unless e is already an error (a chain of parameter reads
// that stops at the first bad one).
func then[T any](e *APIError, next func() (T, *APIError)) (T, *APIError) {
	if e != nil {
		var zero T
		return zero, e
	}
	return next()
}

// getPaymentIntent: GET /v1/payment_intents/{id}.
func (s *Server) getPaymentIntent(ctx *fasthttp.RequestCtx) {
	if f, e := requestForm(ctx); e != nil || f.allow() != nil {
		writeError(ctx, 400, firstErr(e, f.allow()))
		return
	}
	id := pathID(ctx)
	s.mu.Lock()
	pi, seq := s.st.pis[id], s.st.seq
	if pi != nil {
		pi = pi.clone()
	}
	s.mu.Unlock()
	if pi == nil {
		writeError(ctx, 404, noSuch("id", "payment_intent", clip(id)))
		return
	}
	s.writeRead(ctx, seq, pi)
}

// writeRead answers a read once everything it may have seen is on disk,
// so a reader never sees a state a crash could take back.
func (s *Server) writeRead(ctx *fasthttp.RequestCtx, seq int64, v any) {
	if err := s.led.wait(seq); err != nil {
		writeError(ctx, 500, &APIError{Type: "api_error", Message: err.Error()})
		return
	}
	writeJSON(ctx, 200, mustJSON(v))
}

func firstErr(es ...*APIError) *APIError {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}

// cancelPaymentIntent: POST /v1/payment_intents/{id}/cancel.
func (s *Server) cancelPaymentIntent(ctx *fasthttp.RequestCtx) {
	f, e := requestForm(ctx)
	if e == nil {
		e = f.allow("cancellation_reason")
	}
	reason, e := then(e, func() (string, *APIError) {
		return f.oneOf("cancellation_reason", "duplicate", "fraudulent", "requested_by_customer", "abandoned")
	})
	if e != nil {
		writeError(ctx, 400, e)
		return
	}
	id := pathID(ctx)
	key, fp, done := s.begin(ctx, f)
	if done {
		return
	}
	defer s.finish(key)
	a := s.commit(key, fp, func(st *state, now time.Time) (*record, answer) {
		old := st.pis[id]
		if old == nil {
			return nil, answer{status: 404, body: errorBody(noSuch("id", "payment_intent", clip(id)))}
		}
		if old.Status == StatusSucceeded || old.Status == StatusCanceled {
			return nil, answer{status: 400, body: errorBody(invalidCode("", "payment_intent_unexpected_state",
				"You cannot cancel this PaymentIntent because it has a status of %s.", old.Status))}
		}
		pi := old.clone()
		pi.Status = StatusCanceled
		at := now.Unix()
		pi.CanceledAt = &at
		if reason != "" {
			pi.CancellationReason = &reason
		}
		return &record{PI: pi}, answer{status: 200, body: mustJSON(pi), store: true}
	})
	s.deliver(ctx, key, a)
}

// createRefund: POST /v1/refunds of a succeeded PaymentIntent, at most what
// is left to refund.
func (s *Server) createRefund(ctx *fasthttp.RequestCtx) {
	f, e := requestForm(ctx)
	if e == nil {
		e = f.allow("payment_intent", "amount", "metadata[*]", "reason")
	}
	amount, e := then(e, func() (int64, *APIError) { return f.amount("amount", false) })
	meta, e := then(e, f.metadata)
	reason, e := then(e, func() (string, *APIError) {
		return f.oneOf("reason", "duplicate", "fraudulent", "requested_by_customer")
	})
	if e == nil && f.get("payment_intent") == "" {
		e = missing("payment_intent")
	}
	if e != nil {
		writeError(ctx, 400, e)
		return
	}
	piID := f.get("payment_intent")
	key, fp, done := s.begin(ctx, f)
	if done {
		return
	}
	defer s.finish(key)
	a := s.commit(key, fp, func(st *state, now time.Time) (*record, answer) {
		old := st.pis[piID]
		if old == nil {
			return nil, answer{status: 400, body: errorBody(noSuch("payment_intent", "payment_intent", clip(piID)))}
		}
		if old.Status != StatusSucceeded {
			return nil, answer{status: 400, body: errorBody(invalidCode("payment_intent", "charge_not_refundable",
				"This PaymentIntent (%s) does not have a successful charge to refund (status %s).", old.ID, old.Status))}
		}
		left := old.AmountReceived - old.AmountRefunded
		if left == 0 {
			return nil, answer{status: 400, body: errorBody(invalidCode("", "charge_already_refunded",
				"Charge %s has already been refunded.", deref(old.LatestCharge)))}
		}
		amt := amount
		if amt < 0 {
			amt = left
		}
		if amt > left {
			return nil, answer{status: 400, body: errorBody(invalidCode("amount", "amount_too_large",
				"Refund amount (%d) is greater than unrefunded amount on charge (%d)", amt, left))}
		}
		r := &Refund{ID: newID("re_"), Object: "refund", Amount: amt, Currency: old.Currency, PaymentIntent: old.ID,
			Charge: deref(old.LatestCharge), Status: StatusSucceeded, Created: now.Unix(), Metadata: meta}
		if reason != "" {
			r.Reason = &reason
		}
		pi := old.clone()
		pi.AmountRefunded += amt
		pi.Refunds.Data = append(pi.Refunds.Data, r)
		return &record{PI: pi, Refund: r}, answer{status: 200, body: mustJSON(r), store: true}
	})
	s.deliver(ctx, key, a)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// getRefund: GET /v1/refunds/{id}.
func (s *Server) getRefund(ctx *fasthttp.RequestCtx) {
	if f, e := requestForm(ctx); e != nil || f.allow() != nil {
		writeError(ctx, 400, firstErr(e, f.allow()))
		return
	}
	id := pathID(ctx)
	s.mu.Lock()
	r, seq := s.st.refunds[id], s.st.seq
	var c Refund
	if r != nil {
		c = *r
		c.Metadata = cloneMap(r.Metadata)
	}
	s.mu.Unlock()
	if r == nil {
		writeError(ctx, 404, noSuch("id", "refund", clip(id)))
		return
	}
	s.writeRead(ctx, seq, &c)
}

// getPaymentMethod: GET /v1/payment_methods/{id}: the card of a test token.
func (s *Server) getPaymentMethod(ctx *fasthttp.RequestCtx) {
	if f, e := requestForm(ctx); e != nil || f.allow() != nil {
		writeError(ctx, 400, firstErr(e, f.allow()))
		return
	}
	id := pathID(ctx)
	_, card, ok := ParseToken(id)
	if !ok {
		writeError(ctx, 404, noSuch("id", "PaymentMethod", clip(id)))
		return
	}
	pm := PaymentMethod{ID: id, Object: "payment_method", Type: "card", Metadata: map[string]string{}}
	pm.Card.Brand, pm.Card.Country, pm.Card.Last4 = card.Brand, card.Country, "4242"
	pm.Card.ExpMonth, pm.Card.ExpYear, pm.Card.Funding = 12, time.Now().Year()+3, "credit"
	writeJSON(ctx, 200, mustJSON(pm))
}

// list is Stripe's list object.
type list struct {
	Object  string           `json:"object"` // "list" or "search_result"
	URL     string           `json:"url"`
	HasMore bool             `json:"has_more"`
	Data    []*PaymentIntent `json:"data"`
	// NextPage is the search cursor (search results only).
	NextPage *string `json:"next_page,omitempty"`
}

// listPaymentIntents: GET /v1/payment_intents, newest first, paged with
// limit and starting_after like Stripe's lists. testpay's own all=true
// answers every PaymentIntent at once (an audit of the whole ledger); every
// PaymentIntent carries its refunds and amount_refunded.
func (s *Server) listPaymentIntents(ctx *fasthttp.RequestCtx) {
	f, e := requestForm(ctx)
	if e == nil {
		e = f.allow("limit", "starting_after", "all")
	}
	limit, e := then(e, f.limit)
	all, e := then(e, func() (bool, *APIError) { return f.boolean("all") })
	if e == nil && all && f.has("limit") {
		e = invalid("all", "all=true lists everything: give no limit")
	}
	if e != nil {
		writeError(ctx, 400, e)
		return
	}
	after := f.get("starting_after")
	s.mu.Lock()
	seq := s.st.seq
	start := len(s.st.order) - 1 // newest first
	if after != "" {
		start = -2
		for i := len(s.st.order) - 1; i >= 0; i-- {
			if s.st.order[i] == after {
				start = i - 1
				break
			}
		}
	}
	if start == -2 {
		s.mu.Unlock()
		writeError(ctx, 400, noSuch("starting_after", "payment_intent", clip(after)))
		return
	}
	if all {
		limit = len(s.st.order)
	}
	out := list{Object: "list", URL: "/v1/payment_intents", Data: make([]*PaymentIntent, 0, min(limit, start+1))}
	i := start
	for ; i >= 0 && len(out.Data) < limit; i-- {
		out.Data = append(out.Data, s.st.pis[s.st.order[i]].clone())
	}
	out.HasMore = i >= 0
	s.mu.Unlock()
	s.writeRead(ctx, seq, &out)
}

// searchPaymentIntents: GET /v1/payment_intents/search?query=…, newest
// first, paged with limit and page.
func (s *Server) searchPaymentIntents(ctx *fasthttp.RequestCtx) {
	f, e := requestForm(ctx)
	if e == nil {
		e = f.allow("query", "limit", "page")
	}
	limit, e := then(e, f.limit)
	if e != nil {
		writeError(ctx, 400, e)
		return
	}
	cs, err := parseQuery(f.get("query"))
	if err != nil {
		writeError(ctx, 400, invalid("query", "%v", err))
		return
	}
	offset := 0
	if p := f.get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			writeError(ctx, 400, invalid("page", "Invalid page cursor: %s", clip(p)))
			return
		}
		offset = n
	}
	s.mu.Lock()
	seq := s.st.seq
	ids := s.st.order
	for _, c := range cs {
		if c.field == "metadata" { // narrow to the index
			ids = s.st.meta[c.key+"\x00"+c.value]
			break
		}
	}
	out := list{Object: "search_result", URL: "/v1/payment_intents/search", Data: []*PaymentIntent{}}
	skipped := 0
	for i := len(ids) - 1; i >= 0; i-- {
		pi := s.st.pis[ids[i]]
		if !match(pi, cs) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(out.Data) == limit {
			out.HasMore = true
			next := strconv.Itoa(offset + limit)
			out.NextPage = &next
			break
		}
		out.Data = append(out.Data, pi.clone())
	}
	s.mu.Unlock()
	s.writeRead(ctx, seq, &out)
}
