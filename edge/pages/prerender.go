package pages

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
)

// prerender is one background pass rendering the HTML and gzip
// representations of the products a snapshot load stored as JSON only,
// most popular first, so that steady-state HTML and gzip hits are pure
// lookups. It runs on PrerenderWorkers goroutines that yield between
// products, stops once the cache is filled to PrerenderMaxFill (never
// evicting stored pages to make room), and is stopped by the next load.
//
// A product written, deleted or purged while the pass renders it keeps
// that newer state: the pass writes only when the slot's version is still
// the one it read (see fill).
type prerender struct {
	stop atomic.Bool
	wg   sync.WaitGroup
}

// prerenderCheckEvery is how many products a worker renders between two
// looks at the cache's fill (a look visits every fastcache bucket).
const prerenderCheckEvery = 32

// startPrerender starts a pass over the live products whose HTML is not
// stored, unless prerendering is off. It returns at once; the pass is
// registered before it returns, so the next BeginLoad stops it. s.mu must
// not be held.
func (s *Cache) startPrerender() {
	if !s.cfg.Prerender {
		return
	}
	p := &prerender{}
	s.pmu.Lock()
	s.pass = p
	s.pmu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		s.runPrerender(p)
	}()
}

// runPrerender lists the products to render, most popular first, and
// renders them on PrerenderWorkers goroutines.
func (s *Cache) runPrerender(p *prerender) {
	if s.cacheFill() >= s.cfg.PrerenderMaxFill {
		s.log.Info().Msg("page store cache is full; HTML and gzip stay rendered on first request")
		return
	}
	todo := s.prerenderList()
	if len(todo) == 0 || p.stop.Load() {
		return
	}
	s.pending.Store(int64(len(todo)))
	defer s.pending.Store(0)
	start := time.Now()
	var next, done, skipped atomic.Int64
	var full atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < s.cfg.PrerenderWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var pace pacer
			for k := 0; ; k++ {
				if p.stop.Load() || full.Load() {
					return
				}
				if k%prerenderCheckEvery == 0 {
					var st fastcache.Stats
					s.cache.UpdateStats(&st)
					if fill(&st) >= s.cfg.PrerenderMaxFill {
						full.Store(true)
						return
					}
					pace.check(st.GetCalls, prerenderCheckEvery)
				}
				j := next.Add(1) - 1
				if j >= int64(len(todo)) {
					return
				}
				s.pending.Add(-1)
				t := time.Now()
				var ok bool
				if buf, ok = s.prerenderOne(todo[j], buf); ok {
					done.Add(1)
				} else {
					skipped.Add(1)
				}
				pace.rest(time.Since(t), p)
			}
		}()
	}
	wg.Wait()
	s.log.Info().Int64("rendered", done.Load()).Int64("skipped", skipped.Load()).Int("products", len(todo)).
		Bool("cache_full", full.Load()).Bool("stopped", p.stop.Load()).Dur("took", time.Since(start)).
		Msg("page store prerender pass ended")
}

// prerenderList returns the live slots stored as JSON only, most popular
// first.
func (s *Cache) prerenderList() []uint32 {
	type cand struct {
		i   uint32
		pop int64
	}
	s.mu.RLock()
	cands := make([]cand, 0, s.live)
	for i := range s.x.slots {
		sl := &s.x.slots[i]
		if sl.flags&(flagDeleted|flagFree) == 0 && sl.have&(1<<JSON) != 0 && sl.have&(1<<HTML) == 0 {
			cands = append(cands, cand{uint32(i), sl.pop})
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.pop > b.pop:
			return -1
		case a.pop < b.pop:
			return 1
		}
		return int(a.i) - int(b.i)
	})
	todo := make([]uint32, len(cands))
	for k, c := range cands {
		todo[k] = c.i
	}
	return todo
}

// prerenderOne renders slot i's remaining representations from its stored
// JSON; ok is false when it was skipped (changed, deleted, purged or
// evicted meanwhile, or already rendered by a request).
func (s *Cache) prerenderOne(i uint32, buf []byte) ([]byte, bool) {
	s.mu.RLock()
	sl := &s.x.slots[i]
	skip := sl.flags&(flagDeleted|flagFree) != 0 || sl.have&(1<<JSON) == 0 || sl.have&(1<<HTML) != 0
	id := s.x.id(i) // immutable bytes of the names arena
	s.mu.RUnlock()
	if skip {
		return buf, false
	}
	r, buf, ok := s.fill(id, buf, allVariants)
	if !ok || r == nil {
		return buf, false
	}
	s.prerendered.Inc()
	return buf, true
}

// stopPrerender stops the running pass, if any, and waits for its workers.
func (s *Cache) stopPrerender() {
	s.pmu.Lock()
	p := s.pass
	s.pass = nil
	s.pmu.Unlock()
	if p != nil {
		p.stop.Store(true)
		p.wg.Wait()
	}
}

// waitPrerender waits until the running background pass, if any, ends.
func (s *Cache) waitPrerender() {
	s.pmu.Lock()
	p := s.pass
	s.pmu.Unlock()
	if p != nil {
		p.wg.Wait()
	}
}

// Close stops the background work of the store (a running prerender
// pass). The store stays usable; Close only ends its goroutines.
func (s *Cache) Close() {
	s.stopPrerender()
}

// cacheFill returns the allocated fraction of the cache: fastcache fills
// each bucket's chunks in order before it wraps around and evicts.
func (s *Cache) cacheFill() float64 {
	var st fastcache.Stats
	s.cache.UpdateStats(&st)
	return fill(&st)
}

func fill(st *fastcache.Stats) float64 {
	if st.MaxBytesSize == 0 {
		return 1
	}
	return float64(st.BytesSize) / float64(st.MaxBytesSize)
}

// While the store serves requests, a prerender worker renders at most
// prerenderBusyDuty of the time: requests are served from the cache (a
// first request renders for itself), and the pass only saves later ones
// that work. The store sees requests as cache lookups beyond the pass's
// own; more than prerenderBusyGets per second means traffic.
const (
	prerenderBusyDuty = 0.1
	prerenderBusyGets = 200
)

// pacer keeps one prerender worker's share of the CPU low under traffic.
type pacer struct {
	gets uint64
	at   time.Time
	busy bool
}

// check updates busy from the cache's lookup count; own is the number of
// lookups the worker made since the last check.
func (p *pacer) check(gets uint64, own int) {
	now := time.Now()
	if !p.at.IsZero() {
		d := now.Sub(p.at).Seconds()
		others := float64(gets-p.gets) - float64(own)
		p.busy = d > 0 && others/d > prerenderBusyGets
	}
	p.gets, p.at = gets, now
}

// rest pauses after a render that took d: under traffic long enough to
// keep to the duty cycle (or until the pass is stopped), else just long
// enough to let waiting goroutines run.
func (p *pacer) rest(d time.Duration, pass *prerender) {
	if !p.busy {
		runtime.Gosched()
		return
	}
	pause := time.Duration(float64(d) * (1/prerenderBusyDuty - 1))
	for pause > 0 && !pass.stop.Load() {
		step := min(pause, 50*time.Millisecond)
		time.Sleep(step)
		pause -= step
	}
}
