package checkout

import (
	"shopedge/store"
)

// overlay is the pipeline's store.Overlay (one request's writes buffered
// on the batch transaction, merged by flush only when the request
// succeeded) with a cache for one batch transaction: stable holds the
// values batchGet read, records that every request of a batch reads and
// none writes (a hot SKU's index record), read once per batch instead of
// once per buyer.
type overlay struct {
	store.Overlay
	stable map[string][]byte
}

// reset empties o for a request on tx, keeping its buffers and the
// batch's cache.
func (o *overlay) reset(tx store.Txn) { o.Reset(tx) }

// startBatch forgets the values cached for the previous batch transaction.
func (o *overlay) startBatch() { clear(o.stable) }

// batchGet is Get for a record that requests of a batch read but rarely
// write: the batch transaction's value is read once and remembered until
// the next startBatch (a flush that writes the key forgets it). The slice
// is valid until the batch transaction ends.
func (o *overlay) batchGet(key []byte) ([]byte, error) {
	if v, del, ok := o.Buffered(key); ok {
		if del {
			return nil, store.ErrNotFound
		}
		return v, nil
	}
	if v, ok := o.stable[string(key)]; ok {
		return v, nil
	}
	v, err := o.Base().Get(key)
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

// flush applies the buffered writes to the batch transaction in the order
// they were first made, forgetting the cached values of the keys written.
func (o *overlay) flush() error {
	if len(o.stable) > 0 {
		for k := range o.Keys() {
			delete(o.stable, string(k))
		}
	}
	return o.Flush()
}
