package forward

import (
	"sync"
	"time"
)

// outcome is what a forwarded request tells about a core's health.
type outcome uint8

const (
	// success: the core answered (an application answer, 4xx or 5xx,
	// is a healthy core's answer).
	success outcome = iota
	// failure: the core could not be reached, dropped the connection,
	// answered 503 unavailable (its own overload) or timed out on a
	// route whose duration no client chooses.
	failure
	// ignored: says nothing about the core (a timeout of a route that
	// waits for the payment gateway, whose speed the client's payment
	// token chooses).
	ignored
)

// breakerState is a breaker's state.
type breakerState uint8

const (
	stateClosed breakerState = iota
	stateHalfOpen
	stateOpen
)

func (s breakerState) String() string {
	switch s {
	case stateHalfOpen:
		return "half-open"
	case stateOpen:
		return "open"
	}
	return "closed"
}

// breaker is one core's circuit breaker: failures consecutive failures
// open it; after openFor it lets up to probes requests through (half-open);
// a probe's success closes it, a failure opens it again. Only failure
// outcomes count: no client can open it with requests a healthy core
// answers, however they end. It is safe for concurrent use.
type breaker struct {
	failures uint32
	openFor  time.Duration
	probes   uint32
	onChange func(from, to breakerState)
	now      func() time.Time

	mu          sync.Mutex
	state       breakerState
	consecutive uint32
	openedAt    time.Time
	inProbe     uint32
}

func newBreaker(failures uint32, openFor time.Duration, probes uint32, onChange func(from, to breakerState)) *breaker {
	return &breaker{failures: failures, openFor: openFor, probes: probes, onChange: onChange, now: time.Now}
}

// allow reports whether a request may go to the core now; when it returns
// true the caller must report the request's outcome with done.
func (b *breaker) allow() (probe bool, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateOpen:
		if b.now().Sub(b.openedAt) < b.openFor {
			return false, false
		}
		b.set(stateHalfOpen)
		fallthrough
	case stateHalfOpen:
		if b.inProbe >= b.probes {
			return false, false
		}
		b.inProbe++
		return true, true
	}
	return false, true
}

// done reports the outcome of a request allow let through; probe is what
// allow returned.
func (b *breaker) done(probe bool, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe && b.inProbe > 0 {
		b.inProbe--
	}
	switch o {
	case success:
		b.consecutive = 0
		if b.state == stateHalfOpen && probe {
			b.set(stateClosed)
		}
	case failure:
		b.consecutive++
		if (b.state == stateHalfOpen && probe) || (b.state == stateClosed && b.consecutive >= b.failures) {
			b.openedAt = b.now()
			b.set(stateOpen)
		}
	}
}

// current returns the state, as allow would see it now.
func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateOpen && b.now().Sub(b.openedAt) >= b.openFor {
		return stateHalfOpen
	}
	return b.state
}

func (b *breaker) set(to breakerState) {
	from := b.state
	if from == to {
		return
	}
	b.state = to
	if to != stateHalfOpen {
		b.inProbe = 0
	}
	if to == stateClosed {
		b.consecutive = 0
	}
	if b.onChange != nil {
		b.onChange(from, to)
	}
}
