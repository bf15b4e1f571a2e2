package catalog

import (
	"bytes"
	"context"

	"sort"
	"sync"

	"shopedge/store"
)

// memStore is a tiny map-backed store.Store for tests: writers are
// serialised, readers see a consistent state.
type memStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

type memTxn struct {
	s   *memStore
	w   map[string][]byte // nil value: deleted
	del map[string]bool
	ro  bool
}

func (s *memStore) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTxn{s: s, w: map[string][]byte{}, del: map[string]bool{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k := range tx.del {
		delete(s.m, k)
	}
	for k, v := range tx.w {
		s.m[k] = v
	}
	return nil
}

func (s *memStore) View(ctx context.Context, fn func(tx store.Txn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&memTxn{s: s, ro: true})
}

func (s *memStore) Close() error { return nil }

func (t *memTxn) Get(key []byte) ([]byte, error) {
	k := string(key)
	if v, ok := t.w[k]; ok {
		return v, nil
	}
	if t.del[k] {
		return nil, store.ErrNotFound
	}
	v, ok := t.s.m[k]
	if !ok {
		return nil, store.ErrNotFound
	}
	return v, nil
}

func (t *memTxn) Set(key, value []byte) error {
	if t.ro {
		return store.ErrReadOnly
	}
	k := string(key)
	delete(t.del, k)
	t.w[k] = append([]byte(nil), value...)
	return nil
}

func (t *memTxn) Delete(key []byte) error {
	if t.ro {
		return store.ErrReadOnly
	}
	k := string(key)
	delete(t.w, k)
	t.del[k] = true
	return nil
}

func (t *memTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	var keys []string
	in := func(k string) bool {
		return bytes.Compare([]byte(k), start) >= 0 && (end == nil || bytes.Compare([]byte(k), end) < 0)
	}
	for k := range t.s.m {
		if in(k) && !t.del[k] {
			if _, ok := t.w[k]; !ok {
				keys = append(keys, k)
			}
		}
	}
	for k := range t.w {
		if in(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if limit > 0 && i >= limit {
			break
		}
		v, _ := t.Get([]byte(k))
		if err := fn([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}
