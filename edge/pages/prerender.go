package pages

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/rs/zerolog"
)

// prerenderer runs the background pass rendering the HTML and gzip
// representations of the products a snapshot load stored as JSON only,
// most popular first, so that steady-state HTML and gzip hits are pure
// lookups. The Loader starts a pass after each load and stops it at the
// next BeginLoad. A pass runs on PrerenderWorkers goroutines that yield
// between products, and stops once the cache is filled to
// PrerenderMaxFill (never evicting stored pages to make room).
//
// A product written, deleted or purged while the pass renders it keeps
// that newer state: the pass writes only when the slot's version is still
// the one it read (see filler.fill). Its methods are no-ops on a nil
// prerenderer (prerendering off).
type prerenderer struct {
	c       prerenderTarget
	fl      filler
	workers int
	maxFill float64
	log     zerolog.Logger
	m       *counters

	mu   sync.Mutex
	pass *prerender // the running or last pass
}

// prerenderTarget is what the pass reads and writes: *Cache (see
// write.go).
type prerenderTarget interface {
	jsonSource
	jsonOnly() []uint32
	jsonOnlyID(i uint32) ([]byte, bool)
	cacheFill() float64
	stats(st *fastcache.Stats)
}

func newPrerenderer(c *Cache, fl filler, cfg Config, log zerolog.Logger) *prerenderer {
	return &prerenderer{c: c, fl: fl, workers: cfg.PrerenderWorkers, maxFill: cfg.PrerenderMaxFill, log: log, m: c.counters}
}

// prerender is one pass.
type prerender struct {
	stop atomic.Bool
	wg   sync.WaitGroup
}

// prerenderCheckEvery is how many products a worker renders between two
// looks at the cache's fill (a look visits every fastcache bucket).
const prerenderCheckEvery = 32

// start starts a pass over the live products whose HTML is not stored.
// It returns at once; the pass is registered before it returns, so the
// next stop stops it.
func (pr *prerenderer) start() {
	if pr == nil {
		return
	}
	p := &prerender{}
	pr.mu.Lock()
	pr.pass = p
	pr.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pr.run(p)
	}()
}

// run lists the products to render, most popular first, and renders them
// on PrerenderWorkers goroutines.
func (pr *prerenderer) run(p *prerender) {
	if pr.c.cacheFill() >= pr.maxFill {
		pr.log.Info().Msg("page cache is full; HTML and gzip stay rendered on first request")
		return
	}
	todo := pr.c.jsonOnly()
	if len(todo) == 0 || p.stop.Load() {
		return
	}
	pr.m.pending.Store(int64(len(todo)))
	defer pr.m.pending.Store(0)
	start := time.Now()
	var next, done, skipped atomic.Int64
	var full atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < pr.workers; w++ {
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
					pr.c.stats(&st)
					if fill(&st) >= pr.maxFill {
						full.Store(true)
						return
					}
					pace.check(st.GetCalls, prerenderCheckEvery)
				}
				j := next.Add(1) - 1
				if j >= int64(len(todo)) {
					return
				}
				pr.m.pending.Add(-1)
				t := time.Now()
				var ok bool
				if buf, ok = pr.one(todo[j], buf); ok {
					done.Add(1)
				} else {
					skipped.Add(1)
				}
				pace.rest(time.Since(t), p)
			}
		}()
	}
	wg.Wait()
	pr.log.Info().Int64("rendered", done.Load()).Int64("skipped", skipped.Load()).Int("products", len(todo)).
		Bool("cache_full", full.Load()).Bool("stopped", p.stop.Load()).Dur("took", time.Since(start)).
		Msg("page cache prerender pass ended")
}

// one renders slot i's remaining representations from its stored JSON;
// ok is false when it was skipped (changed, deleted, purged or evicted
// meanwhile, or already rendered by a request).
func (pr *prerenderer) one(i uint32, buf []byte) ([]byte, bool) {
	id, ok := pr.c.jsonOnlyID(i)
	if !ok {
		return buf, false
	}
	r, buf, ok := pr.fl.fill(id, buf, allVariants)
	if !ok || r == nil {
		return buf, false
	}
	pr.m.prerendered.Inc()
	return buf, true
}

// stop stops the running pass, if any, and waits for its workers.
func (pr *prerenderer) stop() {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	p := pr.pass
	pr.pass = nil
	pr.mu.Unlock()
	if p != nil {
		p.stop.Store(true)
		p.wg.Wait()
	}
}

// wait waits until the running pass, if any, ends.
func (pr *prerenderer) wait() {
	if pr == nil {
		return
	}
	pr.mu.Lock()
	p := pr.pass
	pr.mu.Unlock()
	if p != nil {
		p.wg.Wait()
	}
}

// While the cache serves requests, a prerender worker renders at most
// prerenderBusyDuty of the time: requests are served from the cache (a
// first request renders for itself), and the pass only saves later ones
// that work. The pass sees requests as cache lookups beyond the pass's
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
