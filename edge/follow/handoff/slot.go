// Package handoff passes what a feed sink built for a snapshot from its
// FinishLoad (run beside the other sinks' builds by edge/follow) to its
// EndLoad.
package handoff

import "sync"

// Slot hands what a Finisher's FinishLoad built for a snapshot to its
// EndLoad, which may run on another goroutine: Put stores it with the
// snapshot's seq, Take returns it once. The zero value is empty and ready;
// it is safe for concurrent use.
type Slot[T any] struct {
	mu  sync.Mutex
	seq uint64
	v   *T
}

// Put stores v as built for the snapshot consistent with seq, replacing
// anything stored before.
func (b *Slot[T]) Put(seq uint64, v *T) {
	b.mu.Lock()
	b.seq, b.v = seq, v
	b.mu.Unlock()
}

// Reset forgets what was stored: a new load began.
func (b *Slot[T]) Reset() { b.Put(0, nil) }

// Take returns what was built for seq and forgets it. When nothing was
// built for seq (EndLoad without FinishLoad, or a FinishLoad of an
// abandoned snapshot) it calls build(seq), which Puts, and returns that;
// nil when build stored nothing for seq.
func (b *Slot[T]) Take(seq uint64, build func(seq uint64)) *T {
	if v := b.take(seq); v != nil {
		return v
	}
	build(seq)
	return b.take(seq)
}

func (b *Slot[T]) take(seq uint64) *T {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.v, b.seq == seq
	b.v = nil
	if !ok {
		return nil
	}
	return v
}
