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
// catalog, not of the catalog.
package soldout

import (
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
)

// Set is the edge's sold-out SKUs. It is a follow.Sink (and SummarySink):
// the follower writes it from one goroutine; SoldOut is safe to call from
// any goroutine.
type Set struct {
	// live reports whether the feed is current (ready and connected): a
	// SKU is reported sold out only then.
	live func() bool

	mu sync.RWMutex
	// skus maps a sold-out SKU to its product id.
	skus map[string]string
	// byProduct lists each product's sold-out SKUs.
	byProduct map[string][]string

	// load is the snapshot being loaded (follower's goroutine only).
	load *Set
}

// New returns an empty set whose SoldOut answers only while live reports
// true (nil: always). Its metrics are registered on ms.
func New(live func() bool, ms *metrics.Set) *Set {
	s := &Set{live: live, skus: map[string]string{}, byProduct: map[string][]string{}}
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
	s.mu.RLock()
	_, ok := s.skus[string(sku)]
	s.mu.RUnlock()
	return ok
}

// Len returns the number of sold-out SKUs.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.skus)
}

// BeginLoad starts a snapshot load; the current set serves until EndLoad.
func (s *Set) BeginLoad() {
	s.load = &Set{skus: map[string]string{}, byProduct: map[string][]string{}}
}

// Load records p's sold-out SKUs in the load. p is not retained.
func (s *Set) Load(p *api.Product) {
	if s.load != nil {
		s.load.put(p)
	}
}

// LoadsSummaries reports that product summaries (SKUs and their bands)
// are enough.
func (s *Set) LoadsSummaries() bool { return true }

// EndLoad swaps the loaded set in.
func (s *Set) EndLoad(uint64) {
	l := s.load
	s.load = nil
	if l == nil {
		return
	}
	s.mu.Lock()
	s.skus, s.byProduct = l.skus, l.byProduct
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

// put records p's sold-out SKUs, copying the strings (a snapshot's may
// alias a reused buffer). Called with mu held, or on a load no reader
// sees.
func (s *Set) put(p *api.Product) {
	var id string
	for i := range p.SKUs {
		k := &p.SKUs[i]
		if k.Availability != api.OutOfStock {
			continue
		}
		if id == "" {
			id = strings.Clone(p.ID)
		}
		sku := strings.Clone(k.SKU)
		s.skus[sku] = id
		s.byProduct[id] = append(s.byProduct[id], sku)
	}
}

// drop forgets product id's sold-out SKUs. Called with mu held.
func (s *Set) drop(id string) {
	skus, ok := s.byProduct[id]
	if !ok {
		return
	}
	for _, sku := range skus {
		if s.skus[sku] == id {
			delete(s.skus, sku)
		}
	}
	delete(s.byProduct, id)
}
