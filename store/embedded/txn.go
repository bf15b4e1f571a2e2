package embedded

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"shopedge/store"
)

var errEmptyKey = errors.New("embedded: empty key")

func checkKey(key []byte) error {
	if len(key) == 0 {
		return errEmptyKey
	}
	if len(key) > bolt.MaxKeySize {
		return fmt.Errorf("embedded: key of %d bytes exceeds %d", len(key), bolt.MaxKeySize)
	}
	return nil
}

// cursorGet returns key's value, seeking with c (a cursor of the bucket,
// reused across Gets so each one allocates nothing). The slice is valid
// until the bbolt transaction ends.
func cursorGet(c *bolt.Cursor, key []byte) ([]byte, error) {
	k, v := c.Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil, store.ErrNotFound
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// bucketScan calls fn for keys of b in [start, end) (nil end: no bound).
func bucketScan(b *bolt.Bucket, start, end []byte, limit int, fn func(k, v []byte) error) error {
	c := b.Cursor()
	n := 0
	for k, v := c.Seek(start); k != nil; k, v = c.Next() {
		if end != nil && bytes.Compare(k, end) >= 0 {
			return nil
		}
		if limit > 0 && n >= limit {
			return nil
		}
		if v == nil {
			v = []byte{}
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// readTxn is View's Txn on a bbolt read transaction. c is its cursor for
// Get (a bbolt cursor per Get would allocate one each time).
type readTxn struct {
	b *bolt.Bucket
	c *bolt.Cursor
}

func (t *readTxn) Get(key []byte) ([]byte, error) { return cursorGet(t.c, key) }
func (t *readTxn) Set(key, value []byte) error    { return store.ErrReadOnly }
func (t *readTxn) Delete(key []byte) error        { return store.ErrReadOnly }
func (t *readTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	return bucketScan(t.b, start, end, limit, fn)
}

// writeTxn is Update's Txn: reads see the shared bbolt write transaction
// (with the writes of earlier callers in the batch) under this caller's own
// buffered writes w; writes go to w only, until apply merges them. c is the
// cursor for Get; every Get seeks from the root, so the writes apply makes
// between Gets do not invalidate it.
type writeTxn struct {
	b *bolt.Bucket
	c *bolt.Cursor
	w *writeSet
}

// run calls r.fn on t and reports whether it succeeded; on failure r.err
// or r.panicVal is set.
func (t *writeTxn) run(r *request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r.panicVal = p
			r.err = fmt.Errorf("embedded: update function panicked: %v", p)
			ok = false
		}
	}()
	if err := r.fn(t); err != nil {
		r.err = err
		return false
	}
	return true
}

// apply merges the buffered writes into the bbolt transaction, in key
// order: bbolt then fills each leaf left to right instead of shifting
// elements in nodes that grow in random order (about a third less
// committer CPU for a batch of checkouts, measured with -cpuprofile). The
// slices are owned by the write set's arena, so bbolt may keep them until
// commit.
func (t *writeTxn) apply() error {
	for _, e := range t.w.sorted() {
		var err error
		if e.del {
			err = t.b.Delete(e.k)
		} else {
			err = t.b.Put(e.k, e.v)
		}
		if err != nil {
			return fmt.Errorf("cannot write key %q: %w", e.k, err)
		}
	}
	return nil
}

func (t *writeTxn) Get(key []byte) ([]byte, error) {
	if i := t.w.find(key); i >= 0 {
		e := &t.w.ents[i]
		if e.del {
			return nil, store.ErrNotFound
		}
		return e.v, nil
	}
	return cursorGet(t.c, key)
}

func (t *writeTxn) Set(key, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > store.MaxValueSize {
		return store.ErrValueTooLarge
	}
	t.w.put(key, value, false)
	return nil
}

func (t *writeTxn) Delete(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	t.w.put(key, nil, true)
	return nil
}

// Scan merges the buffered keys in range with the bbolt cursor; the
// buffered write wins on equal keys.
func (t *writeTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	if t.w.len() == 0 {
		return bucketScan(t.b, start, end, limit, fn)
	}
	own := t.w.inRange(start, end)
	c := t.b.Cursor()
	bk, bv := c.Seek(start)
	if end != nil && bk != nil && bytes.Compare(bk, end) >= 0 {
		bk = nil
	}
	n := 0
	for (bk != nil || len(own) > 0) && (limit <= 0 || n < limit) {
		var k, v []byte
		switch {
		case len(own) > 0 && (bk == nil || bytes.Compare(own[0].k, bk) <= 0):
			if bk != nil && bytes.Equal(own[0].k, bk) {
				bk, bv = c.Next()
			}
			e := own[0]
			own = own[1:]
			if e.del {
				goto next
			}
			k, v = e.k, e.v
		default:
			k, v = bk, bv
			if v == nil {
				v = []byte{}
			}
			bk, bv = c.Next()
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	next:
		if end != nil && bk != nil && bytes.Compare(bk, end) >= 0 {
			bk = nil
		}
	}
	return nil
}
