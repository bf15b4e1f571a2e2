package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDelayBounds: every delay is in (0, min(Max, Base<<n)], and the
// bound grows from Base to Max (checked over many draws: the jitter is
// random, the bounds are not).
func TestDelayBounds(t *testing.T) {
	p := Policy{Retries: 10, Base: time.Millisecond, Max: 20 * time.Millisecond}
	for n := range 40 {
		bound := min(p.Max, p.Base<<min(n, 29))
		var top time.Duration
		for range 2000 {
			d := p.Delay(n)
			if d <= 0 || d > bound {
				t.Fatalf("Delay(%d) = %s, want in (0, %s]", n, d, bound)
			}
			top = max(top, d)
		}
		if top < bound*3/4 {
			t.Fatalf("Delay(%d) never came near its bound %s (max %s)", n, bound, top)
		}
	}
	if d := (Policy{}).Delay(3); d != 0 {
		t.Fatalf("zero policy delays %s", d)
	}
}

// TestDoCountsTries: Do tries 1+Retries times on a retryable error, once
// on another, and stops when ctx ends.
func TestDoCountsTries(t *testing.T) {
	errAgain, errFatal := errors.New("again"), errors.New("fatal")
	f := func(p Policy, fail error, want int) {
		t.Helper()
		tries := 0
		err := p.Do(context.Background(), func(err error) bool { return err == errAgain }, func() error {
			tries++
			return fail
		})
		if tries != want || err != fail {
			t.Fatalf("%+v with %v: %d tries, %v; want %d", p, fail, tries, err, want)
		}
	}
	f(Policy{Retries: 3, Base: time.Microsecond, Max: time.Microsecond}, errAgain, 4)
	f(Policy{Retries: 3, Base: time.Microsecond, Max: time.Microsecond}, errFatal, 1)
	f(Policy{}, errAgain, 1)
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	err := Policy{Retries: -1, Base: time.Millisecond, Max: time.Millisecond}.Do(ctx, func(error) bool { return true }, func() error {
		if tries++; tries == 5 {
			cancel()
		}
		return errAgain
	})
	if tries != 5 || err != errAgain {
		t.Fatalf("unbounded policy: %d tries, %v after cancel", tries, err)
	}
}
