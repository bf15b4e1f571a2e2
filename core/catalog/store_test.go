package catalog

import (
	"testing"

	"shopedge/store"
)

func newTestStore(t testing.TB) store.Store {
	t.Helper()
	return newMemStore()
}
