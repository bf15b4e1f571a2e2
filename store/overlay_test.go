package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"shopedge/store"
	"shopedge/store/embedded"
)

// TestOverlay checks the buffered reads, writes, merged scans, flush and
// reset of one request's overlay on a batch transaction.
func TestOverlay(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "shop.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(ctx, func(tx store.Txn) error {
		for _, k := range []string{"a", "c", "e"} {
			if err := tx.Set([]byte(k), []byte("base-"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(tx store.Txn, start, end string, limit int) string {
		t.Helper()
		var e []byte
		if end != "" {
			e = []byte(end)
		}
		out := ""
		err := tx.Scan([]byte(start), e, limit, func(k, v []byte) error { out += fmt.Sprintf("%s=%s ", k, v); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var ov store.Overlay
	err = st.Update(ctx, func(tx store.Txn) error {
		ov.Reset(tx)
		key, val := []byte("b"), []byte("new-b")
		_ = ov.Set(key, val)
		key[0], val[0] = 'x', 'x' // the caller may reuse its slices
		_ = ov.Set([]byte("c"), []byte("new-c"))
		_ = ov.Set([]byte("c"), []byte("newer-c"))
		_ = ov.Delete([]byte("e"))
		_ = ov.Set([]byte("f"), nil)
		if v, err := ov.Get([]byte("b")); err != nil || string(v) != "new-b" {
			t.Errorf("get b: %q %v", v, err)
		}
		if v, err := ov.Get([]byte("a")); err != nil || string(v) != "base-a" {
			t.Errorf("get a: %q %v", v, err)
		}
		if _, err := ov.Get([]byte("e")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get deleted e: %v", err)
		}
		if v, err := ov.Get([]byte("f")); err != nil || len(v) != 0 {
			t.Errorf("get f: %q %v", v, err)
		}
		if got := scan(&ov, "a", "", 0); got != "a=base-a b=new-b c=newer-c f= " {
			t.Errorf("scan: %s", got)
		}
		if got := scan(&ov, "b", "f", 2); got != "b=new-b c=newer-c " {
			t.Errorf("bounded scan: %s", got)
		}
		// Before flush the batch transaction sees none of it.
		if _, err := tx.Get([]byte("b")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unflushed write visible: %v", err)
		}
		if err := ov.Flush(); err != nil {
			return err
		}
		// A reset overlay starts empty on the flushed state.
		ov.Reset(tx)
		_ = ov.Set([]byte("g"), []byte("dropped"))
		if got := scan(&ov, "a", "", 0); got != "a=base-a b=new-b c=newer-c f= g=dropped " {
			t.Errorf("after reset: %s", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = st.View(ctx, func(tx store.Txn) error {
		if got := scan(tx, "a", "", 0); got != "a=base-a b=new-b c=newer-c f= " {
			t.Errorf("committed: %s", got)
		}
		return nil
	})
}
