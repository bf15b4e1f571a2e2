package checkout

import (
	"time"

	"shopedge/internal/config"
)

// Config configures the checkout service.
type Config struct {
	// GroupCommit combines concurrent checkout (and mark-paid) requests into
	// one store transaction per batch; off runs one transaction per request.
	// A store that group-commits concurrent transactions itself (the
	// embedded one) gets one transaction per request either way: batching
	// them here too only adds latency (see pipeline).
	GroupCommit bool `yaml:"group_commit"`
	// BatchWindow is how long a batch that is not full waits for more
	// requests. 0 takes only what queued while the previous batch committed.
	BatchWindow time.Duration `yaml:"batch_window"`
	// MaxBatch is the most requests one batch transaction applies.
	MaxBatch int `yaml:"max_batch"`
	// ReservationTTL is how long a pending order holds its stock.
	ReservationTTL time.Duration `yaml:"reservation_ttl"`
	// IdempotencyTTL is how long an Idempotency-Key's response is kept.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	// SweepInterval is how often RunSweeper expires reservations and
	// idempotency records.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// SweepBatch is the most entries one sweep pass handles per scan.
	SweepBatch int `yaml:"sweep_batch"`
	// PaymentTimeout bounds one call to the payment gateway.
	PaymentTimeout time.Duration `yaml:"payment_timeout"`
	// Retries is how often a transaction whose commit is undetermined, or
	// a request that conflicted inside a batch that committed without it,
	// is retried (it is recognised if it landed). Conflicts of a whole
	// transaction are the store's to retry (store.max_retries).
	Retries int `yaml:"retries"`
	// PaymentRetryAfter is the Retry-After of a 503 payment_unknown
	// answer: how long the order stays with that request before a retry
	// of its Idempotency-Key (or the reconciler) looks the charge up.
	PaymentRetryAfter time.Duration `yaml:"payment_retry_after"`
	// ReconcileInterval is how often RunReconciler resolves payments whose
	// outcome is unknown and retries pending refunds.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// RefundRetryMin and RefundRetryMax bound the wait before a failed
	// refund is tried again: it doubles from min with every failure, up to
	// max.
	RefundRetryMin time.Duration `yaml:"refund_retry_min"`
	RefundRetryMax time.Duration `yaml:"refund_retry_max"`
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time `yaml:"-"`
}

// DefaultConfig returns the defaults: group commit on (up to 2048 requests,
// no extra wait), reservations held 15 minutes, idempotency records kept
// 24 hours, sweeps every 10 seconds, payment calls bounded to 10 seconds,
// reconciliation every 5 seconds, failed refunds retried after 1 second,
// doubling up to 5 minutes.
func DefaultConfig() Config {
	return Config{
		GroupCommit:    true,
		BatchWindow:    0,
		MaxBatch:       2048,
		ReservationTTL: 15 * time.Minute,
		IdempotencyTTL: 24 * time.Hour,
		SweepInterval:  10 * time.Second,
		SweepBatch:     256,
		PaymentTimeout: 10 * time.Second,
		Retries:        5,

		PaymentRetryAfter: 2 * time.Second,
		ReconcileInterval: 5 * time.Second,
		RefundRetryMin:    time.Second,
		RefundRetryMax:    5 * time.Minute,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.BatchWindow < 0 || c.BatchWindow > time.Second:
		return config.Invalid("batch_window", "must be within [0, 1s], got %s", c.BatchWindow)
	case c.MaxBatch < 1 || c.MaxBatch > 100000:
		return config.Invalid("max_batch", "must be within [1, 100000], got %d", c.MaxBatch)
	case c.ReservationTTL < time.Second:
		return config.Invalid("reservation_ttl", "must be at least 1s, got %s", c.ReservationTTL)
	case c.IdempotencyTTL < c.ReservationTTL:
		return config.Invalid("idempotency_ttl", "(%s) must be at least reservation_ttl (%s)", c.IdempotencyTTL, c.ReservationTTL)
	case c.SweepInterval <= 0:
		return config.Invalid("sweep_interval", "must be positive, got %s", c.SweepInterval)
	case c.SweepBatch < 1:
		return config.Invalid("sweep_batch", "must be positive, got %d", c.SweepBatch)
	case c.PaymentTimeout <= 0:
		return config.Invalid("payment_timeout", "must be positive, got %s", c.PaymentTimeout)
	case c.PaymentTimeout >= c.ReservationTTL:
		return config.Invalid("payment_timeout", "(%s) must be shorter than reservation_ttl (%s)", c.PaymentTimeout, c.ReservationTTL)
	case c.Retries < 0 || c.Retries > 100:
		return config.Invalid("retries", "must be within [0, 100], got %d", c.Retries)
	case c.PaymentRetryAfter < time.Second || c.PaymentRetryAfter > time.Minute:
		return config.Invalid("payment_retry_after", "must be within [1s, 1m], got %s", c.PaymentRetryAfter)
	case c.ReconcileInterval <= 0 || c.ReconcileInterval > time.Hour:
		return config.Invalid("reconcile_interval", "must be within (0, 1h], got %s", c.ReconcileInterval)
	case c.RefundRetryMin <= 0:
		return config.Invalid("refund_retry_min", "must be positive, got %s", c.RefundRetryMin)
	case c.RefundRetryMax < c.RefundRetryMin || c.RefundRetryMax > 24*time.Hour:
		return config.Invalid("refund_retry_max", "must be within [refund_retry_min (%s), 24h], got %s", c.RefundRetryMin, c.RefundRetryMax)
	}
	return nil
}
