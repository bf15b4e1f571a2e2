package teststore

import (
	"context"
	"errors"
	"testing"

	"shopedge/store"
)

// get reads key from s in a View; a missing key reads as ErrNotFound.
func get(s store.Store, key string) (string, error) {
	var v []byte
	err := s.View(context.Background(), func(tx store.Txn) error {
		b, err := tx.Get([]byte(key))
		v = append(v, b...)
		return err
	})
	return string(v), err
}

func TestOpenEmbeddedIsEmptyAndWritable(t *testing.T) {
	s := OpenEmbedded(t)
	if _, err := get(s, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get on a new store: %v, want ErrNotFound", err)
	}
	if err := s.Update(context.Background(), func(tx store.Txn) error {
		return tx.Set([]byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := get(s, "k"); err != nil || v != "v" {
		t.Fatalf("Get after Set: %q %v", v, err)
	}
	// Each call opens a store of its own.
	if _, err := get(OpenEmbedded(t), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second store sees the first one's key: %v", err)
	}
}
