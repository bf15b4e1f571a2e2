// Package soldout keeps an edge's view of which SKUs are sold out, from
// the core's change feed: the availability band of every SKU comes with
// each product in the snapshot and in every upsert event (a sale that
// moves a SKU to another band appends one, in the same transaction). The
// forwarder asks it before a cart add or a checkout costs a core anything
// (edge/forward), so a flash sale's losers are answered by whichever edge
// they reach.
//
// Only sold-out SKUs are kept (a map of them and, per product, which of
// its SKUs they are), so the memory is that of the sold-out part of the
// catalog, not of the catalog. SKUs and product ids are kept as 64-bit
// hashes (maphash, a seed per process): the snapshot's in one array
// sorted by SKU hash with an index by product (20 B per sold-out SKU,
// nothing for the collector to scan), the changes the feed brings since
// in maps. With strings in maps, a generated 1M-product catalog without
// stock (2M sold-out SKUs) took 354 MB of the edge's heap, re-marked by
// every collection of a cold start; hashes in maps 164 MB; the array
// 40 MB. The price is that a SKU that is not sold out is reported sold
// out if its hash equals a sold-out one's: with n sold-out SKUs, n/2^64
// per SKU asked about (1e-13 at 2M).
package soldout

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
)

// Set is the edge's sold-out SKUs. It is a follow.Sink (and SummarySink,
// Finisher): the follower writes it from one goroutine; SoldOut is safe
// to call from any goroutine.
type Set struct {
	// live reports whether the feed is current (ready and connected): a
	// SKU is reported sold out only then.
	live func() bool

	mu sync.RWMutex
	// base is the snapshot's sold-out SKUs sorted by SKU hash; dropped
	// has the bit of each entry whose product was changed or deleted
	// since.
	base    []entry
	dropped []uint64
	// byPid indexes base by product hash.
	byPid []uint32
	// baseLive counts the entries of base not dropped.
	baseLive int
	// skus maps the hash of a SKU an event made sold out to its
	// product's; byProduct lists each such product's SKU hashes.
	skus      map[uint64]uint64
	byProduct map[uint64][]uint64

	// load is the snapshot being loaded (follower's goroutine only);
	// loaded is the load FinishLoad sorted, until EndLoad.
	load, loaded *loading
}

// entry is a sold-out SKU of the snapshot: hashes of the SKU and of its
// product id.
type entry struct{ sku, pid uint64 }

type loading struct {
	ents  []entry
	byPid []uint32
	seq   uint64
}

// seed hashes SKUs and product ids for the process's life.
var seed = maphash.MakeSeed()

func hash(s string) uint64 { return maphash.String(seed, s) }

// New returns an empty set whose SoldOut answers only while live reports
// true (nil: always). Its metrics are registered on ms.
func New(live func() bool, ms *metrics.Set) *Set {
	s := &Set{live: live, skus: map[uint64]uint64{}, byProduct: map[uint64][]uint64{}}
	ms.NewGauge(`shopedge_edge_sold_out_skus`, func() float64 { return float64(s.Len()) })
	return s
}

// SoldOut reports whether sku is sold out as of the last event the edge
// applied, while the feed is live; false when unknown. It does not
// allocate.
func (s *Set) SoldOut(sku []byte) bool {
	if s.live != nil && !s.live() {
		return false
	}
	h := maphash.Bytes(seed, sku)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.skus[h]; ok {
		return true
	}
	i, _ := slices.BinarySearchFunc(s.base, h, func(e entry, h uint64) int { return cmp.Compare(e.sku, h) })
	for ; i < len(s.base) && s.base[i].sku == h; i++ {
		if s.dropped[i/64]&(1<<(i%64)) == 0 {
			return true
		}
	}
	return false
}

// Len returns the number of sold-out SKUs.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.baseLive + len(s.skus)
}

// BeginLoad starts a snapshot load; the current set serves until EndLoad.
func (s *Set) BeginLoad() {
	s.mu.RLock()
	n := len(s.base) + len(s.skus)
	s.mu.RUnlock()
	s.load = &loading{ents: make([]entry, 0, n)} // a reload is sized like the set it replaces
	s.loaded = nil
}

// Load records p's sold-out SKUs in the load. p is not retained.
func (s *Set) Load(p *api.Product) {
	l := s.load
	if l == nil {
		return
	}
	var pid uint64
	hashed := false
	for i := range p.SKUs {
		if k := &p.SKUs[i]; k.Availability == api.OutOfStock {
			if !hashed {
				pid, hashed = hash(p.ID), true
			}
			l.ents = append(l.ents, entry{hash(k.SKU), pid})
		}
	}
}

// LoadsSummaries reports that product summaries (SKUs and their bands)
// are enough.
func (s *Set) LoadsSummaries() bool { return true }

// FinishLoad sorts the loaded SKUs (beside the other sinks' builds).
func (s *Set) FinishLoad(seq uint64) {
	l := s.load
	s.load = nil
	if l == nil {
		return
	}
	slices.SortFunc(l.ents, func(a, b entry) int {
		if c := cmp.Compare(a.sku, b.sku); c != 0 {
			return c
		}
		return cmp.Compare(a.pid, b.pid)
	})
	l.ents = slices.Compact(l.ents) // a product loaded twice
	l.byPid = make([]uint32, len(l.ents))
	for i := range l.byPid {
		l.byPid[i] = uint32(i)
	}
	slices.SortFunc(l.byPid, func(a, b uint32) int { return cmp.Compare(l.ents[a].pid, l.ents[b].pid) })
	l.seq = seq
	s.loaded = l
}

// EndLoad swaps the loaded set in.
func (s *Set) EndLoad(seq uint64) {
	if s.load != nil {
		s.FinishLoad(seq)
	}
	l := s.loaded
	s.loaded = nil
	if l == nil {
		return
	}
	s.mu.Lock()
	s.base, s.byPid, s.baseLive = l.ents, l.byPid, len(l.ents)
	s.dropped = make([]uint64, (len(l.ents)+63)/64)
	s.skus, s.byProduct = map[uint64]uint64{}, map[uint64][]uint64{}
	s.mu.Unlock()
}

// Apply applies one change event: an upsert replaces its product's
// sold-out SKUs with those it names out of stock, a delete drops them.
func (s *Set) Apply(ev *api.Event) {
	switch ev.Type {
	case api.EventUpsert:
		if ev.Product == nil {
			return
		}
		s.mu.Lock()
		s.drop(ev.Product.ID)
		s.put(ev.Product)
		s.mu.Unlock()
	case api.EventDelete:
		s.mu.Lock()
		s.drop(ev.ID)
		s.mu.Unlock()
	}
}

// put records p's sold-out SKUs in the maps. Called with mu held.
func (s *Set) put(p *api.Product) {
	pid := hash(p.ID)
	for i := range p.SKUs {
		if k := &p.SKUs[i]; k.Availability == api.OutOfStock {
			h := hash(k.SKU)
			s.skus[h] = pid
			s.byProduct[pid] = append(s.byProduct[pid], h)
		}
	}
}

// drop forgets product id's sold-out SKUs. Called with mu held.
func (s *Set) drop(id string) {
	pid := hash(id)
	i, _ := slices.BinarySearchFunc(s.byPid, pid, func(e uint32, pid uint64) int { return cmp.Compare(s.base[e].pid, pid) })
	for ; i < len(s.byPid) && s.base[s.byPid[i]].pid == pid; i++ {
		e := s.byPid[i]
		if w, bit := &s.dropped[e/64], uint64(1)<<(e%64); *w&bit == 0 {
			*w |= bit
			s.baseLive--
		}
	}
	for _, h := range s.byProduct[pid] {
		if s.skus[h] == pid {
			delete(s.skus, h)
		}
	}
	delete(s.byProduct, pid)
}
