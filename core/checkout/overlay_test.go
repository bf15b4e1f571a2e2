package checkout

import (
	"context"
	"fmt"
	"testing"

	"shopedge/store"
)

// TestBatchGetForgetsWrittenKeys: a value batchGet cached for the batch is
// forgotten when a request of the batch writes the key and flushes, so the
// next request reads the write, not the value cached before it. (Seen
// failing with the forgetting in flush removed: "old".)
func TestBatchGetForgetsWrittenKeys(t *testing.T) {
	st := openEmbedded(t)
	ctx := context.Background()
	key := []byte("k")
	if err := st.Update(ctx, func(tx store.Txn) error { return tx.Set(key, []byte("old")) }); err != nil {
		t.Fatal(err)
	}
	var ov overlay
	err := st.Update(ctx, func(tx store.Txn) error {
		ov.startBatch()
		ov.reset(tx)
		if v, err := batchGet(&ov, key); err != nil || string(v) != "old" {
			return fmt.Errorf("first read: %q %v", v, err)
		}
		if err := ov.Set(key, []byte("new")); err != nil {
			return err
		}
		if err := ov.flush(); err != nil {
			return err
		}
		ov.reset(tx) // the next request of the batch
		if v, err := batchGet(&ov, key); err != nil || string(v) != "new" {
			return fmt.Errorf("read after a request of the batch wrote it: %q %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
