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

// writeTxn is Update's Txn: reads see this caller's own buffered writes w,
// then the batch's writes so far (those of earlier callers in the batch and
// those of the batch still being committed), then the read snapshot b;
// writes go to w only, until the committer merges them into the batch.
// c is the snapshot's cursor for Get.
type writeTxn struct {
	b     *bolt.Bucket
	c     *bolt.Cursor
	w     *writeSet
	batch *writeSet
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

func (t *writeTxn) Get(key []byte) ([]byte, error) {
	for _, ws := range [2]*writeSet{t.w, t.batch} {
		if i := ws.find(key); i >= 0 {
			e := &ws.ents[i]
			if e.del {
				return nil, store.ErrNotFound
			}
			return e.v, nil
		}
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

// Scan merges the caller's buffered keys in range, the batch's and the
// snapshot's cursor; on equal keys the caller's write wins over the
// batch's, which wins over the snapshot.
func (t *writeTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	if t.w.len() == 0 && t.batch.len() == 0 {
		return bucketScan(t.b, start, end, limit, fn)
	}
	own, bat := t.w.inRange(start, end), t.batch.inRange(start, end)
	c := t.b.Cursor()
	bk, bv := c.Seek(start)
	n := 0
	for limit <= 0 || n < limit {
		if end != nil && bk != nil && bytes.Compare(bk, end) >= 0 {
			bk = nil
		}
		// The smallest key of the three sources.
		var min []byte
		if len(own) > 0 {
			min = own[0].k
		}
		if len(bat) > 0 && (min == nil || bytes.Compare(bat[0].k, min) < 0) {
			min = bat[0].k
		}
		if bk != nil && (min == nil || bytes.Compare(bk, min) < 0) {
			min = bk
		}
		if min == nil {
			return nil
		}
		var e *wsEntry
		if len(bat) > 0 && bytes.Equal(bat[0].k, min) {
			e = &bat[0]
			bat = bat[1:]
		}
		if len(own) > 0 && bytes.Equal(own[0].k, min) {
			e = &own[0]
			own = own[1:]
		}
		k, v := min, []byte(nil)
		if bk != nil && bytes.Equal(bk, min) {
			v = bv
			if v == nil {
				v = []byte{}
			}
			bk, bv = c.Next()
		}
		if e != nil {
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
