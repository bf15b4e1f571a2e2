// Package retry is shopedge's one retry policy: exponential backoff with
// full jitter, bounded in tries and in delay. Every loop that waits before
// trying again uses it (the TiKV store's conflict retries, checkout's
// retries of an undetermined commit, the edge's feed follower
// reconnecting), so each has the same shape and one place documents it.
//
// A failure is retried at one layer only: the store retries its own write
// conflicts (store.ErrConflict means it gave up), and a caller retries
// what only it can make safe (checkout re-runs a transaction whose commit
// is undetermined because the transaction recognises its own earlier
// writes). Layers that both retried the same failure multiplied their
// budgets (checkout's 5 retries around TiKV's 30: 180 runs).
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds a retry loop. The zero Policy tries once.
type Policy struct {
	// Retries is how many times a failed try is retried after the first
	// (negative: without limit, for loops that only a context ends).
	Retries int
	// Base is the upper bound of the first delay; each retry doubles it
	// up to Max.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
}

// Delay returns the wait before retry number n (0 for the first retry):
// a uniformly random duration in (0, min(Max, Base<<n)] (full jitter, so
// that clients that failed together do not retry together).
func (p Policy) Delay(n int) time.Duration {
	d := p.Max
	if n < 30 && p.Base > 0 {
		d = min(d, p.Base<<n)
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d) + 1
}

// Allows reports whether retry number n (0 for the first) is within the
// policy.
func (p Policy) Allows(n int) bool { return p.Retries < 0 || n < p.Retries }

// Do runs fn, and again after Delay while it fails with an error that
// retryable accepts and the policy allows another try. It returns fn's
// last error, or ctx's error when ctx ends during a wait.
func (p Policy) Do(ctx context.Context, retryable func(error) bool, fn func() error) error {
	for n := 0; ; n++ {
		err := fn()
		if err == nil || !retryable(err) || !p.Allows(n) {
			return err
		}
		if werr := Sleep(ctx, p.Delay(n)); werr != nil {
			return err
		}
	}
}

// Sleep waits d, or until ctx ends (its error).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
