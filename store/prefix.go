package store

import "context"

// Prefixed returns a Store whose keys all live under prefix in s: Get, Set
// and Delete prepend it, Scan clamps its range to it (a nil end means the end
// of the prefix's range) and strips it from the keys it reports. One TiKV
// cluster can so host many deployments. The prefix is copied; an empty
// prefix returns s itself. Closing the returned Store closes s.
func Prefixed(s Store, prefix []byte) Store {
	if len(prefix) == 0 {
		return s
	}
	p := append([]byte(nil), prefix...)
	return &prefixStore{s: s, p: p, end: PrefixEnd(p)}
}

type prefixStore struct {
	s   Store
	p   []byte
	end []byte // PrefixEnd(p); nil when p is all 0xff
}

func (ps *prefixStore) Update(ctx context.Context, fn func(tx Txn) error) error {
	return ps.s.Update(ctx, func(tx Txn) error { return fn(&prefixTxn{ps: ps, tx: tx}) })
}

func (ps *prefixStore) View(ctx context.Context, fn func(tx Txn) error) error {
	return ps.s.View(ctx, func(tx Txn) error { return fn(&prefixTxn{ps: ps, tx: tx}) })
}

func (ps *prefixStore) Close() error { return ps.s.Close() }

// prefixTxn is valid as long as the Txn it wraps.
type prefixTxn struct {
	ps  *prefixStore
	tx  Txn
	buf []byte // reused for full keys; backends copy keys they keep
}

func (t *prefixTxn) key(k []byte) []byte {
	t.buf = append(append(t.buf[:0], t.ps.p...), k...)
	return t.buf
}

func (t *prefixTxn) Get(key []byte) ([]byte, error) { return t.tx.Get(t.key(key)) }

func (t *prefixTxn) Set(key, value []byte) error { return t.tx.Set(t.key(key), value) }

func (t *prefixTxn) Delete(key []byte) error { return t.tx.Delete(t.key(key)) }

func (t *prefixTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) error) error {
	p := t.ps.p
	s := append(append(make([]byte, 0, len(p)+len(start)), p...), start...)
	e := t.ps.end
	if end != nil {
		e = append(append(make([]byte, 0, len(p)+len(end)), p...), end...)
	}
	return t.tx.Scan(s, e, limit, func(k, v []byte) error {
		return fn(k[len(p):], v)
	})
}
