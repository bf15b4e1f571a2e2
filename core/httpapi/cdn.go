package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/changelog"
	"shopedge/store"
)

// Purger keeps the HTTP caches in front of the edges (cdn.purge_urls) in
// step with the catalog. It follows the change log, which already carries
// every catalog write and purge durably and in order, and turns each event
// into a purge:
//
//	upsert, delete (price, stock band, name, …)  xkey: product-{id}
//	purge                                         xkey: the keys named
//	purge_all                                     X-Shopedge-Purge-All: 1
//
// Each cache has its own cursor in the store (the last sequence whose
// purges it acknowledged), so a purge survives a failed request, a cache
// that is down and a core restart: it is retried with backoff until the
// cache answers 2xx or it has waited cdn.max_age. A purge-all supersedes
// the keyed purges pending before it. Each acknowledged purge is sent once
// more cdn.settle later, for the page a request may have fetched from an
// edge that had not yet applied the change (see CDNConfig.Settle); and
// before its first sending, a purge waits briefly for the edges following
// this core to apply the change (see WaitForEdges), so that the cache's
// next fetch finds the new page.
//
// Several cores may run a Purger on one store: each cache is claimed with
// a lease in the store, so one core at a time purges it, and another takes
// over from the cursor when the lease lapses. Purges are idempotent, so
// the little work a takeover repeats is harmless.
type Purger struct {
	st     store.Store
	log    *changelog.Log
	cfg    CDNConfig
	logger zerolog.Logger
	owner  string // this process's lease identity
	send   *sender
	edges  *Followers // nil: do not wait for edges

	workers []*cacheWorker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// NewPurger returns a Purger for cfg (which must be valid) that reads log
// and keeps its cursors and leases in st; its metrics go to ms (nil: none
// exported). Start it with Start and stop it with Close. With no purge URLs
// it does nothing.
func NewPurger(st store.Store, log *changelog.Log, cfg CDNConfig, logger zerolog.Logger, ms *metrics.Set) (*Purger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	s, err := newSender(cfg)
	if err != nil {
		return nil, err
	}
	p := &Purger{st: st, log: log, cfg: cfg, logger: logger, owner: newOwnerID(), send: s}
	for _, u := range cfg.PurgeURLs {
		p.workers = append(p.workers, newCacheWorker(p, u, ms))
	}
	return p, nil
}

// WaitForEdges makes each purge wait, up to cdn.edge_wait, for the edges
// f tracks (those following this core) to apply the change first. Call it
// before Start.
func (p *Purger) WaitForEdges(f *Followers) { p.edges = f }

// Start starts one goroutine per cache. Call it once.
func (p *Purger) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for _, w := range p.workers {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); w.run(ctx) }()
	}
}

// Close stops the workers and releases their leases so another core can
// take over at once. Purges not yet acknowledged stay pending in the store
// and are sent after the next start (by this core or another). Calling it
// again does nothing.
func (p *Purger) Close() {
	p.once.Do(func() {
		if p.cancel != nil {
			p.cancel()
		}
		p.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, w := range p.workers {
			w.release(ctx)
		}
		p.send.close()
	})
}

// newOwnerID names this process in leases: host, pid and a random part, so
// a restarted process never mistakes its predecessor's lease for its own.
func newOwnerID() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
