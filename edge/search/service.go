package search

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/follow/handoff"
)

// Service is the edge's search: the index, the answer cache and the HTTP
// handlers. It implements the change follower's sink (BeginLoad, Load,
// LoadLine, EndLoad, Apply); the follower calls those from one goroutine
// while any number of searches run.
type Service struct {
	cfg   Config
	log   zerolog.Logger
	idx   atomic.Pointer[index]
	gen   atomic.Uint64 // bumped by every change an answer can show
	seq   atomic.Uint64
	cache *fastcache.Cache
	hot   *hotAnswers
	pool  sync.Pool // *state
	cats  atomic.Pointer[catsAnswer]

	loadMu sync.Mutex
	load   *loader
	built  handoff.Slot[finished] // FinishLoad's index, until EndLoad

	cacheControl []byte
	hits         *metrics.Counter
	misses       *metrics.Counter
	bad          *metrics.Counter
	events       *metrics.Counter
	builds       *metrics.Counter
	buildSeconds atomic.Uint64 // float64 bits
}

// New returns a Service with an empty index. cfg must be valid (see
// Config.Validate). Metrics are registered on ms.
func New(cfg Config, log zerolog.Logger, ms *metrics.Set) *Service {
	s := &Service{cfg: cfg, log: log}
	x := newIndex(&s.cfg)
	x.loading = true
	x.finishLoad(0)
	s.idx.Store(x)
	if cfg.CacheBytes > 0 {
		s.cache = fastcache.New(cfg.CacheBytes)
	}
	s.hot = newHotAnswers(cfg.HotAnswers, cfg.HotAnswerBytes)
	s.pool.New = func() any { return newState() }
	s.cacheControl = []byte(cfg.cacheControl())
	s.hits = ms.NewCounter(`shopedge_search_requests_total{result="hit"}`)
	s.misses = ms.NewCounter(`shopedge_search_requests_total{result="miss"}`)
	s.bad = ms.NewCounter(`shopedge_search_requests_total{result="invalid"}`)
	s.events = ms.NewCounter(`shopedge_search_events_total`)
	s.builds = ms.NewCounter(`shopedge_search_builds_total`)
	ms.NewGauge(`shopedge_search_products`, func() float64 { return float64(s.Stats().Products) })
	ms.NewGauge(`shopedge_search_terms`, func() float64 { return float64(s.Stats().Terms) })
	ms.NewGauge(`shopedge_search_index_bytes`, func() float64 { return float64(s.Stats().Bytes) })
	ms.NewGauge(`shopedge_search_build_seconds`, func() float64 { return math.Float64frombits(s.buildSeconds.Load()) })
	return s
}

// BeginLoad starts a snapshot load; searches keep using the current index
// until EndLoad. A new BeginLoad abandons an unfinished load.
func (s *Service) BeginLoad() {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.load != nil {
		s.load.abandon()
	}
	s.built.Reset()
	s.load = newLoader(&s.cfg)
}

// Load adds one snapshot product (copied, not retained).
func (s *Service) Load(p *api.Product) { s.LoadLine(p, nil) }

// LoadLine adds one snapshot product decoded as a summary, with its
// NDJSON line, from which the attributes are read (neither is retained).
func (s *Service) LoadLine(p *api.Product, line []byte) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.load != nil {
		s.load.add(p, line)
	}
}

// LoadsSummaries reports that a load needs product summaries only: the
// attributes come from the line (see LoadLine).
func (s *Service) LoadsSummaries() bool { return true }

// finished is an index built by FinishLoad and not yet swapped in.
type finished struct {
	x           *index
	steps       []stepTime
	drain, took time.Duration
	waits       int
	started     time.Time
}

// FinishLoad builds the loaded index, consistent with seq, without
// swapping it in: the follower runs it concurrently with the other
// sinks' builds, then calls EndLoad.
func (s *Service) FinishLoad(seq uint64) {
	s.loadMu.Lock()
	l := s.load
	s.load = nil
	s.loadMu.Unlock()
	if l == nil {
		return
	}
	drain := time.Now()
	x := l.finish()
	if x == nil {
		return
	}
	t := time.Now()
	steps := x.finishLoad(seq)
	f := &finished{x: x, steps: steps, drain: t.Sub(drain), took: time.Since(t), waits: l.waits, started: l.started}
	s.built.Put(seq, f)
}

// EndLoad swaps in the index FinishLoad built (building it first when
// FinishLoad was not called), consistent with seq.
func (s *Service) EndLoad(seq uint64) {
	f := s.built.Take(seq, s.FinishLoad)
	if f == nil {
		return
	}
	x := f.x
	d := zerolog.Dict()
	for _, st := range f.steps {
		d.Dur(st.name, st.d)
	}
	s.idx.Store(x)
	s.seq.Store(seq)
	s.bump()
	s.builds.Inc()
	s.buildSeconds.Store(math.Float64bits(f.took.Seconds()))
	st := s.Stats()
	s.log.Info().Uint64("seq", seq).Int("products", st.Products).Int("terms", st.Terms).Int("bytes_per_product", st.BytesPerProduct()).Int("typo_trie_bytes", st.TypoTrieBytes).
		Int("facet_attributes", st.FacetAttributes).Int("load_waits", f.waits).Dur("drain", f.drain).Dur("finish", f.took).Dict("steps", d).Dur("load", time.Since(f.started)).
		Msg("search index built")
}

// Apply applies one change event: the product moves in every posting,
// facet and sort structure at once.
func (s *Service) Apply(ev *api.Event) {
	s.events.Inc()
	x := s.idx.Load()
	changed := false
	switch ev.Type {
	case api.EventUpsert:
		if ev.Product == nil {
			return
		}
		p := prodOf(ev.Product)
		x.mu.Lock()
		changed = x.upsert(&p, ev.Seq)
		x.mu.Unlock()
	case api.EventDelete:
		x.mu.Lock()
		changed = x.remove(ev.ID, ev.Seq)
		x.mu.Unlock()
	case api.EventPurge:
		changed = true
	case api.EventPurgeAll:
		changed = true
		if s.cache != nil {
			s.cache.Reset()
		}
	}
	if ev.Seq > s.seq.Load() {
		s.seq.Store(ev.Seq)
	}
	if changed {
		s.bump()
	}
}

// bump makes every cached answer unreachable: keys carry the generation.
func (s *Service) bump() { s.gen.Add(1) }

// Seq returns the sequence the index is consistent with.
func (s *Service) Seq() uint64 { return s.seq.Load() }

// Parse validates the query string of GET /v1/search (the storefront's
// /search and /c/{slug} pages take the same parameters) into params with
// defaults filled: slices sorted and without repeats, so equal searches
// have equal params. Errors are *api.Error naming the parameter:
// unknown parameters, repeated scalars, values out of range, attribute
// names that are not facet attributes of the catalog, invalid UTF-8,
// over-long queries. Empty values count as absent (a submitted form's
// empty fields).
func (s *Service) Parse(args *fasthttp.Args) (api.SearchParams, error) {
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	if err := s.parseArgs(args, st); err != nil {
		return api.SearchParams{}, err
	}
	return st.args.params(), nil
}

// parseArgs parses and checks args into st.args (see queryArgs), with no
// allocation unless they are invalid.
func (s *Service) parseArgs(args *fasthttp.Args, st *state) error {
	x := s.idx.Load()
	x.mu.RLock()
	err := parseArgs(&s.cfg, args, x, &st.args)
	x.mu.RUnlock()
	if err == nil {
		err = check(&s.cfg, &st.args.p, st.q)
	}
	if err != nil {
		s.bad.Inc()
	}
	return err
}

// facetAttr reports whether name is an attribute searches can filter on.
func (x *index) facetAttr(name string) bool {
	id, ok := x.attrIDs[name]
	return ok && x.attrs[id].facet
}

// Search answers p, as GET /v1/search would, without the answer cache.
// p comes from Parse or is built by the caller (then it is checked the
// same way, except for attribute names: an unknown one matches nothing).
// An empty result is an answer with Total 0 and the facets. The answer's
// strings may point into the index's memory, which is never rewritten.
func (s *Service) Search(p api.SearchParams) (*api.SearchResult, error) {
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	if err := s.prepare(&p, st); err != nil {
		return nil, err
	}
	x := s.idx.Load()
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.search(&p, st), nil
}

// prepare checks p and gives it its own sorted, repeat-free slices.
func (s *Service) prepare(p *api.SearchParams, st *state) error {
	if err := check(&s.cfg, p, st.q); err != nil {
		return err
	}
	p.Categories = sortUnique(slices.Clone(p.Categories))
	p.Brands = sortUnique(slices.Clone(p.Brands))
	if len(p.Attributes) > 0 {
		attrs := make(map[string][]string, len(p.Attributes))
		for k, v := range p.Attributes {
			attrs[k] = sortUnique(slices.Clone(v))
		}
		p.Attributes = attrs
	}
	return nil
}

// Stats describes the index.
type Stats struct {
	Products        int
	Terms           int
	Categories      int
	Brands          int
	FacetAttributes int
	Bytes           int // arenas, postings and the typo trie
	TypoTrieBytes   int // the vocabulary's trie (typo corrections)
}

// BytesPerProduct returns Bytes / Products (0 when empty).
func (st Stats) BytesPerProduct() int {
	if st.Products == 0 {
		return 0
	}
	return st.Bytes / st.Products
}

// Stats returns the index's sizes.
func (s *Service) Stats() Stats {
	x := s.idx.Load()
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.stats()
}

func (x *index) stats() Stats {
	st := Stats{Products: x.live, Terms: len(x.terms), Categories: len(x.cats), Brands: len(x.brands)}
	for i := range x.attrs {
		if x.attrs[i].facet {
			st.FacetAttributes++
		}
	}
	b := uint64(x.tx.bytes() + x.px.bytes() + cap(x.docs)*48 + cap(x.fk)*8 + len(x.ids.s)*4)
	size := func(bm interface{ GetSizeInBytes() uint64 }) { b += bm.GetSizeInBytes() }
	for i := range x.terms {
		b += uint64(len(x.terms[i].s)) + 64
		for _, bm := range x.terms[i].post {
			if bm != nil {
				size(bm)
			}
		}
	}
	for i := range x.cats {
		size(x.cats[i].post)
	}
	for i := range x.brands {
		size(x.brands[i].post)
	}
	for i := range x.pairs {
		if bm := x.pairs[i].post; bm != nil {
			size(bm)
		}
	}
	for _, bs := range [...]*buckets{&x.pop, &x.price} {
		for _, bm := range bs.sets {
			size(bm)
		}
	}
	for _, bm := range x.lt {
		size(bm)
	}
	for _, bm := range [...]interface{ GetSizeInBytes() uint64 }{x.all, x.inStock, x.priced} {
		size(bm)
	}
	st.TypoTrieBytes = x.trie.bytes()
	st.Bytes = int(b) + st.TypoTrieBytes
	return st
}

func (st Stats) String() string {
	return fmt.Sprintf("%d products, %d terms, %d categories, %d brands, %d facet attributes, %d bytes (%d per product)",
		st.Products, st.Terms, st.Categories, st.Brands, st.FacetAttributes, st.Bytes, st.BytesPerProduct())
}
