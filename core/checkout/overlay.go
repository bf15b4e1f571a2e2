package checkout

import (
	"bytes"
	"slices"

	"shopedge/store"
)

// overlay is a Txn that buffers one request's writes on top of a batch
// transaction, so a request that fails inside a batch leaves nothing behind:
// flush merges its writes into the batch only when the request succeeded.
//
// A request writes a handful of keys, so the writes are a slice searched
// from the newest, and keys and values are copied into one arena. The
// pipeline loop owns one overlay and resets it for each request: slices
// returned by Get are valid until the next reset, which is after the
// request's apply function returned.
//
// stable caches, for one batch transaction, the values batchGet read:
// records that every request of a batch reads and none writes (a hot SKU's
// index record), read once per batch instead of once per buyer.
type overlay struct {
	tx     store.Txn
	ents   []ovEntry
	arena  []byte
	stable map[string][]byte
}

type ovEntry struct {
	k, v []byte
	del  bool
}

// reset empties o for a request on tx, keeping its buffers.
func (o *overlay) reset(tx store.Txn) {
	clear(o.ents)
	o.tx, o.ents, o.arena = tx, o.ents[:0], o.arena[:0]
}

// startBatch forgets the values cached for the previous batch transaction.
func (o *overlay) startBatch() { clear(o.stable) }

// batchGet is Get for a record that requests of a batch read but rarely
// write: the batch transaction's value is read once and remembered until
// the next startBatch (a flush that writes the key forgets it). The slice
// is valid until the batch transaction ends.
func (o *overlay) batchGet(key []byte) ([]byte, error) {
	if i := o.find(key); i >= 0 {
		if o.ents[i].del {
			return nil, store.ErrNotFound
		}
		return o.ents[i].v, nil
	}
	if v, ok := o.stable[string(key)]; ok {
		return v, nil
	}
	v, err := o.tx.Get(key)
	if err != nil {
		return nil, err
	}
	if o.stable == nil {
		o.stable = make(map[string][]byte)
	}
	o.stable[string(key)] = v
	return v, nil
}

// batchGet reads key through tx's batch cache when tx is a batch overlay,
// and plainly otherwise.
func batchGet(tx store.Txn, key []byte) ([]byte, error) {
	if o, ok := tx.(*overlay); ok {
		return o.batchGet(key)
	}
	return tx.Get(key)
}

// copyIn copies b into the arena. The arena may move when it grows; slices
// handed out before stay valid (they keep the old array alive).
func (o *overlay) copyIn(b []byte) []byte {
	n := len(o.arena)
	o.arena = append(o.arena, b...)
	return o.arena[n:len(o.arena):len(o.arena)]
}

func (o *overlay) find(key []byte) int {
	for i := len(o.ents) - 1; i >= 0; i-- {
		if bytes.Equal(o.ents[i].k, key) {
			return i
		}
	}
	return -1
}

func (o *overlay) Get(key []byte) ([]byte, error) {
	if i := o.find(key); i >= 0 {
		if o.ents[i].del {
			return nil, store.ErrNotFound
		}
		return o.ents[i].v, nil
	}
	return o.tx.Get(key)
}

func (o *overlay) put(key, value []byte, del bool) {
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

func (o *overlay) Set(key, value []byte) error {
	if len(value) > store.MaxValueSize {
		return store.ErrValueTooLarge
	}
	o.put(key, value, false)
	return nil
}

func (o *overlay) Delete(key []byte) error {
	o.put(key, nil, true)
	return nil
}

// Scan merges the buffered writes in range with the underlying scan; the
// buffered entry wins on equal keys.
func (o *overlay) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
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

// flush applies the buffered writes to the underlying transaction in the
// order they were first made.
func (o *overlay) flush() error {
	for _, e := range o.ents {
		if len(o.stable) > 0 {
			delete(o.stable, string(e.k))
		}
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
