package store

import (
	"bytes"
	"iter"
	"slices"
)

// Overlay is a Txn that buffers one request's writes on top of a shared
// (batch) transaction, so a request that fails inside a batch leaves
// nothing behind: Flush merges its writes into the transaction only when
// the request succeeded. Reads see the buffered writes first; a Scan
// merges them with the transaction's.
//
// A request writes a handful of keys, so the writes are a slice searched
// from the newest, and keys and values are copied into one arena. One
// Overlay is reset for each request: slices returned by Get are valid
// until the next Reset. The batchers of core/checkout (its pipeline) and
// core/catalog (its group commit) use it.
type Overlay struct {
	tx    Txn
	ents  []ovEntry
	arena []byte
}

type ovEntry struct {
	k, v []byte
	del  bool
}

// Reset empties o for a request on tx, keeping its buffers.
func (o *Overlay) Reset(tx Txn) {
	clear(o.ents)
	o.tx, o.ents, o.arena = tx, o.ents[:0], o.arena[:0]
}

// copyIn copies b into the arena. The arena may move when it grows; slices
// handed out before stay valid (they keep the old array alive).
func (o *Overlay) copyIn(b []byte) []byte {
	n := len(o.arena)
	o.arena = append(o.arena, b...)
	return o.arena[n:len(o.arena):len(o.arena)]
}

func (o *Overlay) find(key []byte) int {
	for i := len(o.ents) - 1; i >= 0; i-- {
		if bytes.Equal(o.ents[i].k, key) {
			return i
		}
	}
	return -1
}

// Buffered reports whether o holds a write of key, and if so its value
// or whether it is a delete; it does not read the transaction.
func (o *Overlay) Buffered(key []byte) (value []byte, deleted, ok bool) {
	if i := o.find(key); i >= 0 {
		return o.ents[i].v, o.ents[i].del, true
	}
	return nil, false, false
}

// Base returns the transaction o buffers writes on.
func (o *Overlay) Base() Txn { return o.tx }

// Keys yields the keys o holds writes of, in the order first written.
func (o *Overlay) Keys() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, e := range o.ents {
			if !yield(e.k) {
				return
			}
		}
	}
}

func (o *Overlay) Get(key []byte) ([]byte, error) {
	if i := o.find(key); i >= 0 {
		if o.ents[i].del {
			return nil, ErrNotFound
		}
		return o.ents[i].v, nil
	}
	return o.tx.Get(key)
}

func (o *Overlay) put(key, value []byte, del bool) {
	e := ovEntry{v: []byte{}, del: del}
	if !del {
		e.v = o.copyIn(value)
	}
	if i := o.find(key); i >= 0 {
		e.k = o.ents[i].k
		o.ents[i] = e
		return
	}
	e.k = o.copyIn(key)
	o.ents = append(o.ents, e)
}

func (o *Overlay) Set(key, value []byte) error {
	if len(value) > MaxValueSize {
		return ErrValueTooLarge
	}
	o.put(key, value, false)
	return nil
}

func (o *Overlay) Delete(key []byte) error {
	o.put(key, nil, true)
	return nil
}

// Scan merges the buffered writes in range with the underlying scan; the
// buffered entry wins on equal keys.
func (o *Overlay) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	var own []ovEntry
	for _, e := range o.ents {
		if bytes.Compare(e.k, start) >= 0 && (end == nil || bytes.Compare(e.k, end) < 0) {
			own = append(own, e)
		}
	}
	if len(own) == 0 {
		return o.tx.Scan(start, end, limit, fn)
	}
	slices.SortFunc(own, func(a, b ovEntry) int { return bytes.Compare(a.k, b.k) })
	type kv struct{ k, v []byte }
	var base []kv
	err := o.tx.Scan(start, end, 0, func(k, v []byte) error {
		base = append(base, kv{bytes.Clone(k), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	n, i, j := 0, 0, 0
	for (i < len(base) || j < len(own)) && (limit <= 0 || n < limit) {
		var c int
		switch {
		case j >= len(own):
			c = -1
		case i >= len(base):
			c = 1
		default:
			c = bytes.Compare(base[i].k, own[j].k)
		}
		var k, v []byte
		if c < 0 {
			k, v = base[i].k, base[i].v
			i++
		} else {
			if c == 0 {
				i++
			}
			e := own[j]
			j++
			if e.del {
				continue
			}
			k, v = e.k, e.v
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// Flush applies the buffered writes to the underlying transaction in the
// order they were first made.
func (o *Overlay) Flush() error {
	for _, e := range o.ents {
		var err error
		if e.del {
			err = o.tx.Delete(e.k)
		} else {
			err = o.tx.Set(e.k, e.v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
