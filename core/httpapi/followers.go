package httpapi

import (
	"context"
	"sync"
	"time"
)

// Followers tracks the edges following this core's change feed, from
// their GET /internal/v1/changes?after=N requests: an edge asks for what
// follows N only once it has applied N, so N is how far it got. The CDN
// purger waits (boundedly) for these edges to pass a change before it
// purges the change at the cache, so that the cache's next fetch gets the
// new page (see CDNConfig.EdgeWait). Edges following another core are not
// seen here. It is safe for concurrent use.
type Followers struct {
	mu    sync.Mutex
	conns map[uint64]*follower // by server connection
	wake  chan struct{}        // closed and replaced on every change
}

// follower is one feed connection.
type follower struct {
	after    uint64
	inFlight int
	lastEnd  time.Time
}

const (
	// followerIdle is how long after its last poll ended a connection
	// still counts as an edge that will poll again (an edge polls again
	// within milliseconds of an answer).
	followerIdle = time.Second
	// followerForget is when an idle connection's entry is dropped.
	followerForget = time.Minute
)

// NewFollowers returns an empty tracker.
func NewFollowers() *Followers {
	return &Followers{conns: make(map[uint64]*follower), wake: make(chan struct{})}
}

// begin records a changes poll on connection conn continuing after after.
func (f *Followers) begin(conn, after uint64, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.conns[conn]
	if fl == nil {
		for id, o := range f.conns {
			if o.inFlight == 0 && now.Sub(o.lastEnd) > followerForget {
				delete(f.conns, id)
			}
		}
		fl = &follower{}
		f.conns[conn] = fl
	}
	fl.inFlight++
	if after > fl.after {
		fl.after = after
	}
	f.notifyLocked()
}

// end records that a poll on conn has been answered.
func (f *Followers) end(conn uint64, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl := f.conns[conn]; fl != nil {
		fl.inFlight--
		fl.lastEnd = now
	}
	f.notifyLocked()
}

func (f *Followers) notifyLocked() {
	close(f.wake)
	f.wake = make(chan struct{})
}

// behind returns how many active followers have not yet passed seq, and
// the channel closed on the next change.
func (f *Followers) behind(seq uint64, now time.Time) (int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, fl := range f.conns {
		active := fl.inFlight > 0 || now.Sub(fl.lastEnd) < followerIdle
		if active && fl.after < seq {
			n++
		}
	}
	return n, f.wake
}

// WaitApplied waits until every edge following this core has applied seq,
// at most maxWait or until ctx ends, and returns how many were still
// behind then (0: all caught up, or none follows this core).
func (f *Followers) WaitApplied(ctx context.Context, seq uint64, maxWait time.Duration) int {
	t := time.NewTimer(maxWait)
	defer t.Stop()
	for {
		n, wake := f.behind(seq, time.Now())
		if n == 0 {
			return 0
		}
		select {
		case <-wake:
		case <-t.C:
			n, _ = f.behind(seq, time.Now())
			return n
		case <-ctx.Done():
			return n
		}
	}
}
