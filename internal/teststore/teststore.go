// Package teststore opens stores for the tests of packages built on
// store.Store. (It cannot live in store/storetest: the embedded backend's
// own tests import that suite, and the suite importing the backend back
// would be an import cycle.)
package teststore

import (
	"path/filepath"
	"testing"

	"shopedge/store"
	"shopedge/store/embedded"
)

// OpenEmbedded opens an empty embedded store in tb's temporary directory,
// without fsync (the tests exercise behaviour, not durability). The store
// is closed by a tb.Cleanup.
func OpenEmbedded(tb testing.TB) store.Store {
	tb.Helper()
	db, err := embedded.Open(filepath.Join(tb.TempDir(), "test.db"), embedded.Options{NoSync: true})
	if err != nil {
		tb.Fatalf("cannot open the test store: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
