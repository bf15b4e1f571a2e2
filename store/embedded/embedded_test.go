package embedded

import (
	"path/filepath"
	"testing"

	"shopedge/store"
	"shopedge/store/storetest"
)

// mustOpen opens a fresh database in a temporary directory, closed at cleanup.
func mustOpen(tb testing.TB, opts Options) *DB {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "shopedge.db"), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, Options{}) })
}
