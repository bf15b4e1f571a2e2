package forward

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"
	"github.com/sony/gobreaker"
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
}

func newForwardMetrics(ms *metrics.Set, f *Forwarder) *forwardMetrics {
	m := &forwardMetrics{
		duration:            ms.NewHistogram(`shopedge_edge_forward_duration_seconds`),
		errTimeout:          ms.NewCounter(`shopedge_edge_forward_errors_total{kind="timeout"}`),
		errDial:             ms.NewCounter(`shopedge_edge_forward_errors_total{kind="dial"}`),
		errConn:             ms.NewCounter(`shopedge_edge_forward_errors_total{kind="connection"}`),
		rejectedInFlight:    ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="in_flight"}`),
		rejectedBreaker:     ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="breaker_open"}`),
		rejectedUnreachable: ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="unreachable"}`),
		rejectedTooLarge:    ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="too_large"}`),
		rejectedCardData:    ms.NewCounter(`shopedge_edge_forward_rejected_total{reason="card_data"}`),
	}
	m.status[0] = ms.NewCounter(`shopedge_edge_forward_responses_total{class="other"}`)
	for i := 1; i < len(m.status); i++ {
		m.status[i] = ms.NewCounter(fmt.Sprintf(`shopedge_edge_forward_responses_total{class="%dxx"}`, i))
	}
	ms.NewGauge(`shopedge_edge_forward_in_flight`, func() float64 { return float64(f.inFlight.Load()) })
	return m
}

// registerBackend adds the breaker state gauge of b (0 closed, 1 half-open,
// 2 open).
func (m *forwardMetrics) registerBackend(ms *metrics.Set, b *backend) {
	ms.NewGauge(fmt.Sprintf(`shopedge_edge_forward_breaker_state{core=%q}`, b.addr), func() float64 {
		switch b.cb.State() {
		case gobreaker.StateOpen:
			return 2
		case gobreaker.StateHalfOpen:
			return 1
		}
		return 0
	})
}

func (m *forwardMetrics) countStatus(sc int) {
	c := sc / 100
	if c < 1 || c > 5 {
		c = 0
	}
	m.status[c].Inc()
}
