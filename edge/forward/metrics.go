package forward

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"
)

// forwardMetrics are the forwarder's series on the edge's metrics set.
type forwardMetrics struct {
	duration            *metrics.Histogram
	status              [6]*metrics.Counter // by status class: 1xx … 5xx; [0] other
	errTimeout          *metrics.Counter
	errDial             *metrics.Counter
	errConn             *metrics.Counter
	rejectedInFlight    *metrics.Counter
	rejectedBreaker     *metrics.Counter
	rejectedUnreachable *metrics.Counter
	rejectedTooLarge    *metrics.Counter
	rejectedCardData    *metrics.Counter
	rejectedInvalid     *metrics.Counter
	// 429s by the budget that was spent.
	limitedClient, limitedCart, limitedCheckouts, limitedFailedPayments *metrics.Counter
	// checkouts the core answered with a failed payment
	failedPayments *metrics.Counter
	// sold-out answers the edge gave itself, by route; cart digests read
	// with a checkout, by verdict
	soldOutItem, soldOutCheckout              *metrics.Counter
	digestValid, digestInvalid, digestExpired *metrics.Counter
	// checkouts a core answered, by where they went: the owner of their
	// routing SKU, another core in its rendezvous order (the owner's
	// breaker open, or unreachable), or the next core in turn (not
	// routed: no valid digest, or routing off)
	routedOwner, routedFailover, routedAny *metrics.Counter
}

func newForwardMetrics(ms *metrics.Set, f *Forwarder) *forwardMetrics {
	m := &forwardMetrics{
		duration:              ms.NewHistogram(`shopedge_edge_forward_duration_seconds`),
		errTimeout:            ms.NewCounter(`shopedge_edge_forward_errors_total{kind="timeout"}`),
		errDial:               ms.NewCounter(`shopedge_edge_forward_errors_total{kind="dial"}`),
		errConn:               ms.NewCounter(`shopedge_edge_forward_errors_total{kind="connection"}`),
		rejectedInFlight:      ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="in_flight"}`),
		rejectedBreaker:       ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="breaker_open"}`),
		rejectedUnreachable:   ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="unreachable"}`),
		rejectedTooLarge:      ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="too_large"}`),
		rejectedCardData:      ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="card_data"}`),
		rejectedInvalid:       ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="invalid"}`),
		limitedClient:         ms.NewCounter(`shopedge_edge_forward_limited_total{budget="client"}`),
		limitedCart:           ms.NewCounter(`shopedge_edge_forward_limited_total{budget="cart"}`),
		limitedCheckouts:      ms.NewCounter(`shopedge_edge_forward_limited_total{budget="checkouts_per_cart"}`),
		limitedFailedPayments: ms.NewCounter(`shopedge_edge_forward_limited_total{budget="failed_payments"}`),
		failedPayments:        ms.NewCounter(`shopedge_edge_forward_failed_payments_total`),
		soldOutItem:           ms.NewCounter(`shopedge_edge_forward_sold_out_total{route="set_item"}`),
		soldOutCheckout:       ms.NewCounter(`shopedge_edge_forward_sold_out_total{route="checkout"}`),
		digestValid:           ms.NewCounter(`shopedge_edge_forward_cart_digests_total{result="valid"}`),
		digestInvalid:         ms.NewCounter(`shopedge_edge_forward_cart_digests_total{result="invalid"}`),
		digestExpired:         ms.NewCounter(`shopedge_edge_forward_cart_digests_total{result="expired"}`),
		routedOwner:           ms.NewCounter(`shopedge_edge_forward_checkouts_routed_total{to="owner"}`),
		routedFailover:        ms.NewCounter(`shopedge_edge_forward_checkouts_routed_total{to="failover"}`),
		routedAny:             ms.NewCounter(`shopedge_edge_forward_checkouts_routed_total{to="round_robin"}`),
	}
	m.status[0] = ms.NewCounter(`shopedge_edge_forward_responses_total{class="other"}`)
	for i := 1; i < len(m.status); i++ {
		m.status[i] = ms.NewCounter(fmt.Sprintf(`shopedge_edge_forward_responses_total{class="%dxx"}`, i))
	}
	ms.NewGauge(`shopedge_edge_forward_in_flight`, func() float64 { return float64(f.inFlight.Load()) })
	ms.NewGauge(`shopedge_edge_forward_checkout_timeout_seconds`, func() float64 { return f.CheckoutTimeout().Seconds() })
	return m
}

// registerBackend adds the breaker state gauge of b (0 closed, 1 half-open,
// 2 open).
func (m *forwardMetrics) registerBackend(ms *metrics.Set, b *backend) {
	ms.NewGauge(fmt.Sprintf(`shopedge_edge_forward_breaker_state{core=%q}`, b.addr), func() float64 {
		return float64(b.cb.current())
	})
}

func (m *forwardMetrics) countStatus(sc int) {
	c := sc / 100
	if c < 1 || c > 5 {
		c = 0
	}
	m.status[c].Inc()
}

// countRoute counts a checkout a core answered: routed (sent in its SKU's
// rendezvous order), and then whether the owner answered it.
func (m *forwardMetrics) countRoute(routed, owner bool) {
	switch {
	case !routed:
		m.routedAny.Inc()
	case owner:
		m.routedOwner.Inc()
	default:
		m.routedFailover.Inc()
	}
}
