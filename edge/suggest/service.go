package suggest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/edge/follow/handoff"
)

// Service is the edge's autocomplete: the prefix index, the answer cache
// and the HTTP handler. It implements the change follower's sink
// (BeginLoad, Load, EndLoad, Apply); the follower calls those from one
// goroutine while any number of requests are served.
type Service struct {
	cfg   Config
	log   zerolog.Logger
	idx   atomic.Pointer[index]
	gen   atomic.Uint64 // bumped by every change an answer can show
	cache *fastcache.Cache
	hot   *hotAnswers // nil when off
	pool  sync.Pool   // *state

	loadMu   sync.Mutex
	load     *loader                // the load in progress, nil when none
	built    handoff.Slot[finished] // FinishLoad's index, until EndLoad
	loadHint loadHint
	seq      atomic.Uint64

	cacheControl []byte
	hits         *metrics.Counter
	misses       *metrics.Counter
	bad          *metrics.Counter
	events       *metrics.Counter
	builds       *metrics.Counter
	loadWaits    *metrics.Counter
	buildSeconds atomic.Uint64 // float64 bits
}

// New returns a Service with an empty index. cfg must be valid (see
// Config.Validate). Metrics are registered on ms.
func New(cfg Config, log zerolog.Logger, ms *metrics.Set) *Service {
	s := &Service{cfg: cfg, log: log}
	s.idx.Store(build(&s.cfg, nil, nil, nil))
	if cfg.CacheBytes > 0 {
		s.cache = fastcache.New(cfg.CacheBytes)
	}
	s.pool.New = func() any { return newState() }
	s.hot = newHotAnswers(cfg.HotAnswers, cfg.HotAnswerBytes)
	s.cacheControl = fmt.Appendf(nil, "public, max-age=%d", cfg.MaxAge)
	s.hits = ms.NewCounter(`shopedge_suggest_requests_total{result="hit"}`)
	s.misses = ms.NewCounter(`shopedge_suggest_requests_total{result="miss"}`)
	s.bad = ms.NewCounter(`shopedge_suggest_requests_total{result="invalid"}`)
	s.events = ms.NewCounter(`shopedge_suggest_events_total`)
	s.builds = ms.NewCounter(`shopedge_suggest_builds_total`)
	s.loadWaits = ms.NewCounter(`shopedge_suggest_load_waits_total`)
	ms.NewGauge(`shopedge_suggest_products`, func() float64 { return float64(s.Stats().Products) })
	ms.NewGauge(`shopedge_suggest_prefixes`, func() float64 { return float64(s.Stats().Prefixes) })
	ms.NewGauge(`shopedge_suggest_index_bytes`, func() float64 { return float64(s.Stats().Bytes) })
	ms.NewGauge(`shopedge_suggest_build_seconds`, func() float64 { return float64frombits(s.buildSeconds.Load()) })
	return s
}

// BeginLoad starts a snapshot load; answers keep coming from the current
// index until EndLoad. A new BeginLoad abandons an unfinished load.
func (s *Service) BeginLoad() {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.load != nil {
		s.load.abandon()
	}
	s.built.Reset()
	s.load = newLoader(s.loadHint, s.cfg.CategoryWords)
}

// Load adds one snapshot product; p is copied, not retained. The copy is
// indexed by the load's own goroutine (see loader) while the caller goes
// on.
func (s *Service) Load(p *api.Product) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.load == nil {
		return
	}
	// A product loaded twice is kept once, as last loaded, by the build.
	pr := productOf(&s.cfg, p)
	s.load.add(&pr)
}

// finished is an index built by FinishLoad and not yet swapped in.
type finished struct {
	x             *index
	drained, took time.Duration
	waits         int
	started       time.Time
}

// FinishLoad waits for the load's goroutine and builds the index of the
// loaded products, consistent with seq, without swapping it in: the
// follower runs it concurrently with the other sinks' builds, then calls
// EndLoad.
func (s *Service) FinishLoad(seq uint64) {
	s.loadMu.Lock()
	l := s.load
	s.load = nil
	s.loadMu.Unlock()
	var ld loaded
	waits := 0
	drainStart := time.Now()
	started := drainStart
	if l != nil {
		// The load's goroutine has at most maxBatches batches to go.
		ld, started = l.finish(), l.started
		waits = l.waits
		s.loadWaits.Add(waits)
		s.loadMu.Lock()
		s.loadHint = loadHint{recs: len(ld.recs)}
		s.loadMu.Unlock()
	}
	recs := ld.recs
	for i := range recs {
		recs[i].seq = seq
	}
	t := time.Now()
	drained := t.Sub(drainStart)
	x := build(&s.cfg, recs, ld.tx, ld.pre)
	f := &finished{x: x, drained: drained, took: time.Since(t), waits: waits, started: started}
	s.built.Put(seq, f)
}

// EndLoad swaps in the index FinishLoad built (building it first when
// FinishLoad was not called), consistent with seq.
func (s *Service) EndLoad(seq uint64) {
	f := s.built.Take(seq, s.FinishLoad)
	if f == nil {
		return
	}
	s.idx.Store(f.x)
	s.seq.Store(seq)
	s.bump()
	s.builds.Inc()
	s.buildSeconds.Store(float64bits(f.took.Seconds()))
	st := s.Stats()
	s.log.Info().Uint64("seq", seq).Int("products", st.Products).Int("prefixes", st.Prefixes).
		Int("bytes_per_product", st.BytesPerProduct()).Int("load_waits", f.waits).Dur("drain", f.drained).Dur("build", f.took).Dur("load", time.Since(f.started)).
		Msg("suggest index built")
}

// Apply applies one change event.
func (s *Service) Apply(ev *api.Event) {
	s.events.Inc()
	x := s.idx.Load()
	changed := false
	switch ev.Type {
	case api.EventUpsert:
		if ev.Product == nil {
			return
		}
		p := productOf(&s.cfg, ev.Product)
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

// bump makes every cached answer unreachable: cache keys carry the
// generation.
func (s *Service) bump() { s.gen.Add(1) }

// Seq returns the sequence the index is consistent with.
func (s *Service) Seq() uint64 { return s.seq.Load() }
