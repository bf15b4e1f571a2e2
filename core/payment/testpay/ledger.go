package testpay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	json "github.com/goccy/go-json"
)

// record is one line of the ledger: the new state of the objects a request
// changed and, when its answer is kept under an Idempotency-Key, that
// answer. Records are replayed in order at start.
type record struct {
	Seq    int64          `json:"seq"`
	PI     *PaymentIntent `json:"pi,omitempty"`
	Refund *Refund        `json:"refund,omitempty"`
	Idem   *idemEntry     `json:"idem,omitempty"`
}

// idemEntry is the stored answer of a request under an Idempotency-Key.
type idemEntry struct {
	Key string `json:"key"`
	// Fingerprint is the method, path and canonical form of the request:
	// a later request under the key must match it.
	Fingerprint string          `json:"fp"`
	Status      int             `json:"status"`
	Body        json.RawMessage `json:"body"`
	At          int64           `json:"at"` // unix nanoseconds
}

// ledger is the append-only file of records. Every record is fsynced before
// the answer of its request is sent; records queued while a write is under
// way share the next write and fsync (group commit).
type ledger struct {
	f *os.File

	queue chan []byte // encoded records, in sequence order
	done  chan struct{}

	mu      sync.Mutex
	cond    *sync.Cond
	queued  int64 // sequence of the last record queued
	durable int64 // sequence of the last record on disk
	err     error // the write failure that broke the ledger
}

// maxGroup bounds the records one write and fsync carries.
const maxGroup = 1024

// openLedger opens (creating) the ledger at path, replays its records
// through apply and returns it ready to append after the last one. A last
// line without its newline is a write that a crash cut short (its request
// was never answered): it is cut off. Any other unreadable line is an
// error naming it.
func openLedger(path string, apply func(*record) error) (*ledger, int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, fmt.Errorf("cannot create the ledger directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot open the ledger: %w", err)
	}
	last, good, err := replay(f, apply)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("ledger %s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("cannot cut the torn end of the ledger: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("cannot seek in the ledger: %w", err)
	}
	l := &ledger{f: f, queue: make(chan []byte, maxGroup), done: make(chan struct{}), queued: last, durable: last}
	l.cond = sync.NewCond(&l.mu)
	go l.run()
	return l, last, nil
}

// replay applies every complete record of f and returns the last sequence
// and the length of the complete records.
func replay(f *os.File, apply func(*record) error) (last, good int64, err error) {
	r := bufio.NewReaderSize(f, 1<<20)
	line := 0
	for {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return last, good, nil // b, if any, is a torn last record
		}
		if err != nil {
			return 0, 0, fmt.Errorf("cannot read: %w", err)
		}
		line++
		var rec record
		if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil {
			return 0, 0, fmt.Errorf("line %d: cannot decode: %w", line, err)
		}
		if rec.Seq != last+1 {
			return 0, 0, fmt.Errorf("line %d: sequence %d follows %d", line, rec.Seq, last)
		}
		if err := apply(&rec); err != nil {
			return 0, 0, fmt.Errorf("line %d: %w", line, err)
		}
		last = rec.Seq
		good += int64(len(b))
	}
}

// append queues the encoded record seq (one line, newline included).
// Callers append in sequence order (under the server's lock).
func (l *ledger) append(seq int64, line []byte) {
	l.mu.Lock()
	l.queued = seq
	l.mu.Unlock()
	l.queue <- line
}

// wait blocks until the record seq is on disk, or returns the failure
// that broke the ledger.
func (l *ledger) wait(seq int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.durable < seq && l.err == nil {
		l.cond.Wait()
	}
	if l.durable >= seq {
		return nil
	}
	return l.err
}

// run writes queued records: each write takes every record queued so far
// (up to maxGroup), then fsyncs once.
func (l *ledger) run() {
	defer close(l.done)
	var buf []byte
	for line := range l.queue {
		buf = append(buf[:0], line...)
		n := 1
	drain:
		for n < maxGroup {
			select {
			case more, ok := <-l.queue:
				if !ok {
					break drain
				}
				buf = append(buf, more...)
				n++
			default:
				break drain
			}
		}
		l.mu.Lock()
		upTo := l.durable + int64(n)
		broken := l.err
		l.mu.Unlock()
		if broken != nil {
			continue // drain the queue; nothing more is written
		}
		var err error
		if _, err = l.f.Write(buf); err == nil {
			err = l.f.Sync()
		}
		l.mu.Lock()
		if err != nil {
			l.err = fmt.Errorf("cannot write the ledger: %w", err)
		} else {
			l.durable = upTo
		}
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

// Err returns the failure that broke the ledger, or nil.
func (l *ledger) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// close writes what is queued and closes the file. No append may follow.
func (l *ledger) close() error {
	close(l.queue)
	<-l.done
	l.mu.Lock()
	if l.err == nil {
		l.err = errors.New("ledger closed")
	}
	l.cond.Broadcast()
	l.mu.Unlock()
	return l.f.Close()
}
