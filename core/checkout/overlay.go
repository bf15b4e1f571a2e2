package checkout

import (
	"bytes"
	"slices"
	"strings"

	"shopedge/store"
)

// overlay is a Txn that buffers one request's writes on top of a batch
// transaction, so a request that fails inside a batch leaves nothing behind:
// flush merges its writes into the batch only when the request succeeded.
// An overlay lives for one request inside one run of the batch fn.
type overlay struct {
	tx store.Txn
	w  map[string]ovEntry
}

type ovEntry struct {
	v   []byte
	del bool
}

func newOverlay(tx store.Txn) *overlay { return &overlay{tx: tx, w: map[string]ovEntry{}} }

func (o *overlay) Get(key []byte) ([]byte, error) {
	if e, ok := o.w[string(key)]; ok {
		if e.del {
			return nil, store.ErrNotFound
		}
		return e.v, nil
	}
	return o.tx.Get(key)
}

func (o *overlay) Set(key, value []byte) error {
	if len(value) > store.MaxValueSize {
		return store.ErrValueTooLarge
	}
	o.w[string(key)] = ovEntry{v: append(make([]byte, 0, len(value)), value...)}
	return nil
}

func (o *overlay) Delete(key []byte) error {
	o.w[string(key)] = ovEntry{del: true}
	return nil
}

// Scan merges the buffered writes in range with the underlying scan; the
// buffered entry wins on equal keys.
func (o *overlay) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	var own []string
	for k := range o.w {
		if k >= string(start) && (end == nil || k < string(end)) {
			own = append(own, k)
		}
	}
	if len(own) == 0 {
		return o.tx.Scan(start, end, limit, fn)
	}
	slices.SortFunc(own, strings.Compare)
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
		var k, v []byte
		switch {
		case j >= len(own) || (i < len(base) && string(base[i].k) < own[j]):
			k, v = base[i].k, base[i].v
			i++
		default:
			if i < len(base) && string(base[i].k) == own[j] {
				i++
			}
			e := o.w[own[j]]
			j++
			if e.del {
				continue
			}
			k, v = []byte(own[j-1]), e.v
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// flush applies the buffered writes to the underlying transaction.
func (o *overlay) flush() error {
	for k, e := range o.w {
		var err error
		if e.del {
			err = o.tx.Delete([]byte(k))
		} else {
			err = o.tx.Set([]byte(k), e.v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
