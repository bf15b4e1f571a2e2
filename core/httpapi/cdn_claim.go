package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/changelog"
	"shopedge/store"
)

// Each cache's purge state lives in the store (see store/keys.go):
//
//	meta/cdn/{id}/cursor   last sequence whose purges the cache acknowledged (u64 BE)
//	meta/cdn/{id}/lease    JSON {owner, until_ms, url}: the core purging it
//
// id is the first 8 bytes of sha256(url) in hex.

// lease is the stored claim on a cache.
type lease struct {
	Owner   string `json:"owner"`
	UntilMS int64  `json:"until_ms"`
	URL     string `json:"url"`
}

var (
	// errLeaseLost stops a worker whose lease another core holds now.
	errLeaseLost = errors.New("cdn purge lease held by another core")
	// errLogReset stops a worker whose cursor is past the log's end.
	errLogReset = errors.New("change log is behind the cdn purge cursor")
)

func cacheID(url string) string {
	h := sha256.Sum256([]byte(url))
	return hex.EncodeToString(h[:8])
}

func cursorKey(id string) []byte { return []byte(store.NSMeta + "cdn/" + id + "/cursor") }
func leaseKey(id string) []byte  { return []byte(store.NSMeta + "cdn/" + id + "/lease") }

func readLease(tx store.Txn, id string) (*lease, error) {
	v, err := tx.Get(leaseKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read CDN lease: %w", err)
	}
	var l lease
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("cannot decode CDN lease: %w", err)
	}
	return &l, nil
}

func writeLease(tx store.Txn, id string, l lease) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return tx.Set(leaseKey(id), b)
}

// claim takes or renews the lease on the cache for this core until
// now+lease and returns the stored cursor. A cache without a cursor (newly
// configured) starts at the log's last sequence with reset true: it may
// hold pages from before, so it is first purged whole. So does a cache
// whose cursor is past the log's end (a store restored from an older
// copy). claim returns errLeaseLost while another core's lease runs.
func (w *cacheWorker) claim(ctx context.Context, now time.Time) (cursor uint64, reset bool, err error) {
	err = w.p.st.Update(ctx, func(tx store.Txn) error {
		reset = false
		l, err := readLease(tx, w.id)
		if err != nil {
			return err
		}
		if l != nil && l.Owner != w.p.owner && l.UntilMS > now.UnixMilli() {
			return errLeaseLost
		}
		if err := writeLease(tx, w.id, lease{Owner: w.p.owner, UntilMS: now.Add(w.p.cfg.Lease).UnixMilli(), URL: w.url}); err != nil {
			return err
		}
		last, err := changelog.LastSeq(tx)
		if err != nil {
			return err
		}
		v, err := tx.Get(cursorKey(w.id))
		switch {
		case err == nil:
			cursor = store.Uint64(v)
			if cursor <= last {
				return nil
			}
			reset = true
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("cannot read CDN cursor: %w", err)
		}
		cursor, reset = last, true
		return tx.Set(cursorKey(w.id), store.AppendUint64(nil, cursor))
	})
	return cursor, reset, err
}

// save renews the lease and moves the stored cursor up to cursor (never
// down). It returns errLeaseLost when another core holds the lease.
func (w *cacheWorker) save(ctx context.Context, now time.Time, cursor uint64) error {
	return w.p.st.Update(ctx, func(tx store.Txn) error {
		l, err := readLease(tx, w.id)
		if err != nil {
			return err
		}
		if l != nil && l.Owner != w.p.owner && l.UntilMS > now.UnixMilli() {
			return errLeaseLost
		}
		if err := writeLease(tx, w.id, lease{Owner: w.p.owner, UntilMS: now.Add(w.p.cfg.Lease).UnixMilli(), URL: w.url}); err != nil {
			return err
		}
		v, err := tx.Get(cursorKey(w.id))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("cannot read CDN cursor: %w", err)
		}
		if err == nil && store.Uint64(v) >= cursor {
			return nil
		}
		return tx.Set(cursorKey(w.id), store.AppendUint64(nil, cursor))
	})
}

// release ends this core's lease on the cache, if it holds it, after
// storing its cursor, so another core can take over at once and repeats
// nothing that was acknowledged.
func (w *cacheWorker) release(ctx context.Context) {
	cursor := w.settled
	err := w.p.st.Update(ctx, func(tx store.Txn) error {
		l, err := readLease(tx, w.id)
		if err != nil || l == nil || l.Owner != w.p.owner {
			return err
		}
		v, err := tx.Get(cursorKey(w.id))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err != nil || store.Uint64(v) < cursor {
			if err := tx.Set(cursorKey(w.id), store.AppendUint64(nil, cursor)); err != nil {
				return err
			}
		}
		l.UntilMS = 0
		return writeLease(tx, w.id, *l)
	})
	if err != nil {
		w.p.logger.Warn().Err(err).Str("cache", w.url).Msg("cannot release the CDN purge lease")
	}
}
