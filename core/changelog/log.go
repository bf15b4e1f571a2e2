// Package changelog is the core's ordered log of catalog events. Writers
// append an event inside the transaction that makes the change, so the log
// and the catalog never disagree; edges read it (Read, Wait) to follow the
// catalog from a snapshot's sequence.
package changelog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/store"
)

// ErrGone is returned by Read and Wait when the requested position is older
// than the first retained event (or newer than the last one, as after a
// store reset): the reader must reload the snapshot. It renders as 410.
var ErrGone = &api.Error{Code: api.ECodeGone, Message: "change log position no longer retained; reload the snapshot"}

var (
	keySeq      = []byte(store.NSMeta + "seq")
	keyLogStart = []byte(store.NSMeta + "logstart")
)

// maxTrimPerAppend bounds the deletions one Append does, so lowering the
// retention never turns one write into a huge transaction.
const maxTrimPerAppend = 256

// Log is the change log over a store. It is safe for concurrent use and
// lives as long as its store; it holds no goroutines.
type Log struct {
	st  store.Store
	cfg Config

	mu      sync.Mutex
	wake    chan struct{} // closed and replaced by Notify
	waiters int
}

// New returns a Log over st. cfg must be valid (see Config.Validate).
func New(st store.Store, cfg Config) *Log {
	return &Log{st: st, cfg: cfg, wake: make(chan struct{})}
}

// Config returns the log's configuration.
func (l *Log) Config() Config { return l.cfg }

// LogKey returns the store key of the event with sequence seq.
func LogKey(seq uint64) []byte {
	return store.AppendUint64([]byte(store.NSLog), seq)
}

// LastSeq returns the last assigned sequence in tx (0 for an empty log).
func LastSeq(tx store.Txn) (uint64, error) {
	return readU64(tx, keySeq, 0)
}

// LastSeq returns the last assigned sequence in tx (0 for an empty log).
func (l *Log) LastSeq(tx store.Txn) (uint64, error) { return LastSeq(tx) }

func readU64(tx store.Txn, key []byte, def uint64) (uint64, error) {
	v, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", key, err)
	}
	return store.Uint64(v), nil
}

// Append assigns ev the next sequence, stores it in tx and returns the
// sequence (also set in ev.Seq). It trims events beyond the retention in the
// same transaction. After the transaction commits the committer should call
// Notify so local waiters answer at once; otherwise they notice within
// PollInterval.
func (l *Log) Append(tx store.Txn, ev *api.Event) (uint64, error) {
	return l.AppendEncoded(tx, ev, nil)
}

// AppendEncoded is Append for an event whose product is already encoded:
// ev.Product must be nil and product, when not nil, is the JSON of the
// event's product (spliced in as its "product" field). It lets callers
// encode outside the transaction.
func (l *Log) AppendEncoded(tx store.Txn, ev *api.Event, product []byte) (uint64, error) {
	last, err := LastSeq(tx)
	if err != nil {
		return 0, err
	}
	seq := last + 1
	ev.Seq = seq
	b, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("cannot encode event: %w", err)
	}
	if product != nil {
		if ev.Product != nil || len(b) < 2 || b[len(b)-1] != '}' {
			return 0, fmt.Errorf("BUG: AppendEncoded with a decoded product")
		}
		out := make([]byte, 0, len(b)+len(product)+12)
		out = append(out, b[:len(b)-1]...)
		out = append(out, `,"product":`...)
		out = append(out, product...)
		b = append(out, '}')
	}
	if err := tx.Set(LogKey(seq), b); err != nil {
		return 0, fmt.Errorf("cannot append event %d: %w", seq, err)
	}
	if err := tx.Set(keySeq, store.AppendUint64(nil, seq)); err != nil {
		return 0, fmt.Errorf("cannot store sequence: %w", err)
	}
	if err := l.trim(tx, seq); err != nil {
		return 0, err
	}
	return seq, nil
}

// trim deletes events older than the retention window ending at last.
func (l *Log) trim(tx store.Txn, last uint64) error {
	if last <= l.cfg.RetentionEvents {
		return nil
	}
	start, err := readU64(tx, keyLogStart, 1)
	if err != nil {
		return err
	}
	want := last - l.cfg.RetentionEvents + 1 // first seq to keep
	if start >= want {
		return nil
	}
	if want-start > maxTrimPerAppend {
		want = start + maxTrimPerAppend
	}
	for s := start; s < want; s++ {
		if err := tx.Delete(LogKey(s)); err != nil {
			return fmt.Errorf("cannot trim event %d: %w", s, err)
		}
	}
	if err := tx.Set(keyLogStart, store.AppendUint64(nil, want)); err != nil {
		return fmt.Errorf("cannot store log start: %w", err)
	}
	return nil
}

// Notify wakes every Wait of this process so it re-reads the log. Call it
// after committing a transaction that appended events. It is cheap when
// nobody waits.
func (l *Log) Notify() {
	l.mu.Lock()
	if l.waiters > 0 {
		close(l.wake)
		l.wake = make(chan struct{})
	}
	l.mu.Unlock()
}

// Read returns up to limit events after sequence after (limit <= 0 or above
// MaxLimit means MaxLimit), and Last, the newest sequence. It returns ErrGone
// when events after `after` were already trimmed.
func (l *Log) Read(ctx context.Context, after uint64, limit int) (*api.Changes, error) {
	if limit <= 0 || limit > l.cfg.MaxLimit {
		limit = l.cfg.MaxLimit
	}
	ch := &api.Changes{Events: []api.Event{}}
	err := l.st.View(ctx, func(tx store.Txn) error {
		ch.Events = ch.Events[:0]
		last, err := LastSeq(tx)
		if err != nil {
			return err
		}
		ch.Last = last
		if after > last {
			return ErrGone
		}
		if after == last {
			return nil
		}
		start, err := readU64(tx, keyLogStart, 1)
		if err != nil {
			return err
		}
		if after+1 < start {
			return ErrGone
		}
		return tx.Scan(LogKey(after+1), store.PrefixEnd([]byte(store.NSLog)), limit, func(_, v []byte) error {
			var ev api.Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("cannot decode event: %w", err)
			}
			ch.Events = append(ch.Events, ev)
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, ErrGone) {
			return nil, ErrGone
		}
		return nil, fmt.Errorf("cannot read change log: %w", err)
	}
	if n := len(ch.Events); n > 0 && n == limit {
		// More may follow: continue after the last returned event.
		ch.Last = ch.Events[n-1].Seq
	}
	return ch, nil
}

// Wait is Read (with MaxLimit) that, when no event follows after, blocks
// until one is appended, ctx ends, or maxWait passes (maxWait <= 0 or above
// MaxWait means MaxWait); then it answers with whatever is there (possibly
// no events).
func (l *Log) Wait(ctx context.Context, after uint64, maxWait time.Duration) (*api.Changes, error) {
	return l.WaitN(ctx, after, 0, maxWait)
}

// WaitN is Wait returning at most limit events (see Read).
func (l *Log) WaitN(ctx context.Context, after uint64, limit int, maxWait time.Duration) (*api.Changes, error) {
	if maxWait <= 0 || maxWait > l.cfg.MaxWait {
		maxWait = l.cfg.MaxWait
	}
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	l.mu.Lock()
	l.waiters++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.waiters--
		l.mu.Unlock()
	}()
	poll := time.NewTicker(l.cfg.PollInterval)
	defer poll.Stop()
	for {
		l.mu.Lock()
		wake := l.wake
		l.mu.Unlock()
		ch, err := l.Read(ctx, after, limit)
		if err != nil || len(ch.Events) > 0 {
			return ch, err
		}
		select {
		case <-wake:
		case <-poll.C:
		case <-timer.C:
			return ch, nil
		case <-ctx.Done():
			return ch, nil
		}
	}
}
