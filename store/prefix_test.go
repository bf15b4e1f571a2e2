package store

import (
	"context"
	"fmt"
	"testing"
)

// recStore records the keys and ranges Prefixed passes to the wrapped store.
type recStore struct{ log []string }

func (r *recStore) Update(ctx context.Context, fn func(tx Txn) error) error { return fn(recTxn{r}) }
func (r *recStore) View(ctx context.Context, fn func(tx Txn) error) error   { return fn(recTxn{r}) }
func (r *recStore) Close() error                                            { return nil }

type recTxn struct{ r *recStore }

func (t recTxn) Get(key []byte) ([]byte, error) {
	t.r.log = append(t.r.log, fmt.Sprintf("get %q", key))
	return nil, ErrNotFound
}
func (t recTxn) Set(key, value []byte) error {
	t.r.log = append(t.r.log, fmt.Sprintf("set %q", key))
	return nil
}
func (t recTxn) Delete(key []byte) error {
	t.r.log = append(t.r.log, fmt.Sprintf("del %q", key))
	return nil
}
func (t recTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	t.r.log = append(t.r.log, fmt.Sprintf("scan %q %q %d", start, end, limit))
	return fn(append(append([]byte(nil), start...), "x"...), []byte("v"))
}

func TestPrefixedEmptyIsIdentity(t *testing.T) {
	r := &recStore{}
	if Prefixed(r, nil) != Store(r) {
		t.Fatal("Prefixed with an empty prefix wrapped the store")
	}
}

func TestPrefixedKeysAndRanges(t *testing.T) {
	f := func(prefix string, op func(tx Txn) error, want string) {
		t.Helper()
		r := &recStore{}
		if err := Prefixed(r, []byte(prefix)).Update(context.Background(), op); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if got := fmt.Sprint(r.log); got != want {
			t.Errorf("prefix %q: got %s, want %s", prefix, got, want)
		}
	}
	f("d/", func(tx Txn) error { _, err := tx.Get([]byte("k")); return ignoreNotFound(err) }, `[get "d/k"]`)
	f("d/", func(tx Txn) error { return tx.Set([]byte("k"), nil) }, `[set "d/k"]`)
	f("d/", func(tx Txn) error { return tx.Delete([]byte("k")) }, `[del "d/k"]`)
	f("d/", func(tx Txn) error { return tx.Scan(nil, nil, 0, noop) }, `[scan "d/" "d0" 0]`)
	f("d/", func(tx Txn) error { return tx.Scan([]byte("a"), []byte("b"), 3, noop) }, `[scan "d/a" "d/b" 3]`)
	f("\xff\xff", func(tx Txn) error { return tx.Scan(nil, nil, 0, noop) }, `[scan "\xff\xff" "" 0]`)
	f("a\xff", func(tx Txn) error { return tx.Scan(nil, nil, 0, noop) }, `[scan "a\xff" "b" 0]`)
}

func TestPrefixedScanStripsPrefix(t *testing.T) {
	r := &recStore{}
	var got string
	err := Prefixed(r, []byte("dep/")).View(context.Background(), func(tx Txn) error {
		return tx.Scan([]byte("k"), nil, 0, func(k, v []byte) error { got = string(k); return nil })
	})
	if err != nil || got != "kx" {
		t.Fatalf("scan key = %q, %v; want kx", got, err)
	}
}

func noop(k, v []byte) error { return nil }

func ignoreNotFound(err error) error {
	if err == ErrNotFound {
		return nil
	}
	return err
}

// pipelined is a store that says it pipelines its commits.
type pipelined struct {
	recStore
	on bool
}

func (p *pipelined) PipelinesCommits() bool { return p.on }

// Prefixed answers PipelinesCommits for the store it wraps, so wrapping
// does not change how callers batch (core/checkout's double queue, #14).
func TestPrefixedForwardsPipelinesCommits(t *testing.T) {
	f := func(s Store, want bool) {
		t.Helper()
		cp, ok := Prefixed(s, []byte("p/")).(CommitPipeliner)
		if got := ok && cp.PipelinesCommits(); got != want {
			t.Fatalf("Prefixed(%T).PipelinesCommits() = %v, want %v", s, got, want)
		}
	}
	f(&pipelined{on: true}, true)
	f(&pipelined{on: false}, false)
	f(&recStore{}, false)
	inner := &pipelined{on: true}
	if u, ok := Prefixed(inner, []byte("p/")).(interface{ Unwrap() Store }); !ok || u.Unwrap() != Store(inner) {
		t.Fatal("Prefixed does not unwrap to the store it wraps")
	}
}
