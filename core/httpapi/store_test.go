package httpapi

import (
	"path/filepath"
	"testing"

	"shopedge/store"
	"shopedge/store/embedded"
)

// newTestStore opens an embedded store in a temporary directory (no fsync:
// the tests exercise behaviour, not durability) and closes it at cleanup.
func newTestStore(tb testing.TB) store.Store {
	tb.Helper()
	db, err := embedded.Open(filepath.Join(tb.TempDir(), "test.db"), embedded.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
