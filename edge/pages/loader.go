package pages

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"

	"shopedge/core/api"
)

// Loader writes products into a Cache: it is the cache's follow.Sink
// (a snapshot load with BeginLoad, Load or LoadLine and EndLoad, then
// change events with Apply), renders what a request missed (PutFor,
// FillFor) and runs the background prerender pass after each load. It
// renders outside the cache's lock and writes through loadTarget. The
// follower calls the Sink methods from one goroutine; PutFor and FillFor
// are safe for concurrent use. A Cache has one Loader.
type Loader struct {
	c   loadTarget
	cfg Config
	log zerolog.Logger
	m   *counters
	fl  filler
	pre *prerenderer // nil when prerendering is off

	// load is non-nil between BeginLoad and EndLoad; LoadLine reads it
	// without a lock, from the follower's goroutine.
	load atomic.Pointer[loadRun]
}

// loadTarget is what a Loader writes through: *Cache (see write.go).
type loadTarget interface {
	jsonSource
	newGen() uint32
	hash(b []byte) uint64
	cacheFill() float64
	storeBatch(w *loadWorker, b *loadBatch, gen uint32)
	endLoad(gen uint32, seq uint64)
	store(r *Rendered, seq uint64, gen uint32, force bool) bool
	newerThan(id string, seq uint64) bool
	apply(ev *api.Event, r *Rendered)
}

// NewLoader returns the Loader of c, configured by c's Config.
func NewLoader(c *Cache) *Loader {
	l := &Loader{c: c, cfg: c.cfg, log: c.log, m: c.counters,
		fl: filler{c: c, gzip: c.cfg.GzipLevel, log: c.log, m: c.counters}}
	if c.cfg.Prerender {
		l.pre = newPrerenderer(c, l.fl, c.cfg, c.log)
	}
	return l
}

// loadRun is one snapshot load. Its current batch and tail cache belong
// to the follower's goroutine (Load and LoadLine). A full batch goes to
// both prep and order: Workers goroutines take it from prep to hash it
// (prepBatch), and one store goroutine takes the batches from order, in
// the order they were loaded, and stores each once it is prepared: the
// store stage (Cache.storeBatch, serial under the cache's lock) keeps
// only the index changes and the cache writes, and never waits for the
// lock on another load worker.
type loadRun struct {
	gen   uint32
	work  chan *api.Product // RenderAllOnLoad: one product at a time
	prep  chan *loadBatch
	order chan *loadBatch
	free  chan *loadBatch
	cur   *loadBatch
	tails tailCache
	wg    sync.WaitGroup
	// over is set once the cache was past LoadMaxFill when a batch was
	// handed out: that batch and every later one are indexed only, so a
	// stored product is never less popular than an unstored one.
	over bool
}

// send hands the current batch to the workers, deciding whether its
// products are stored (see over). It runs on the loading goroutine.
func (l *loadRun) send(c loadTarget, maxFill float64) {
	if !l.over && maxFill > 0 && c.cacheFill() >= maxFill {
		l.over = true
	}
	l.cur.indexOnly = l.over
	l.order <- l.cur // neither blocks: at most cap(free) batches are out
	l.prep <- l.cur
	l.cur = nil
}

// BeginLoad starts a snapshot load. The cache keeps serving its current
// state; products seen by the load are stored as they arrive, products
// not seen are dropped at EndLoad. A BeginLoad without EndLoad of the
// previous load (a failed download) abandons that load. A running
// prerender pass is stopped.
func (l *Loader) BeginLoad() {
	l.pre.stop()
	l.finishLoad()
	workers := l.cfg.Workers
	nb := 2*workers + 2
	r := &loadRun{gen: l.c.newGen(), work: make(chan *api.Product, 4*workers),
		prep: make(chan *loadBatch, nb), order: make(chan *loadBatch, nb), free: make(chan *loadBatch, nb)}
	for i := 0; i < nb; i++ {
		r.free <- &loadBatch{prepared: make(chan struct{}, 1)}
	}
	l.load.Store(r)
	for w := 0; w < workers; w++ {
		r.wg.Add(2)
		go func() {
			defer r.wg.Done()
			for p := range r.work {
				l.loadOne(p, r.gen)
			}
		}()
		go func() {
			defer r.wg.Done()
			for b := range r.prep {
				l.prepBatch(b)
				b.prepared <- struct{}{}
			}
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		var w loadWorker
		for b := range r.order {
			<-b.prepared
			l.c.storeBatch(&w, b, r.gen)
			r.free <- b
		}
	}()
}

func (l *Loader) loadOne(p *api.Product, gen uint32) {
	r, err := Render(p, l.cfg.GzipLevel)
	if err != nil {
		l.m.renderErrors.Inc()
		l.log.Error().Err(err).Str("id", p.ID).Msg("cannot render snapshot product")
		return
	}
	l.m.renders.Inc()
	l.c.store(r, 0, gen, true)
}

// prepBatch fills in the ETags of b's values and the index's hashes of
// its ids and slugs. It takes no lock.
func (l *Loader) prepBatch(b *loadBatch) {
	for k := range b.items {
		it := &b.items[k]
		putETag((*[etagLen]byte)(b.arena[it.val.start+1:]), b.arena[it.body:it.val.end])
		it.idHash = l.c.hash(b.arena[it.key.start+1 : it.key.end])
		it.slugHash = 0
		if it.slug.end > it.slug.start {
			it.slugHash = l.c.hash(b.bytes(it.slug))
		}
	}
}

// finishLoad stores the current load's last batch and waits for its
// workers; it returns the load.
func (l *Loader) finishLoad() *loadRun {
	r := l.load.Swap(nil)
	if r != nil {
		if r.cur != nil && len(r.cur.items) > 0 {
			r.send(l.c, l.cfg.LoadMaxFill)
		}
		r.cur = nil
		close(r.work)
		close(r.prep)
		close(r.order)
		r.wg.Wait()
	}
	return r
}

// Load queues one snapshot product. p is not retained: the caller may
// reuse it once Load returns.
func (l *Loader) Load(p *api.Product) {
	line, err := json.Marshal(p)
	if err != nil {
		l.m.renderErrors.Inc()
		l.log.Error().Err(err).Str("id", p.ID).Msg("cannot render snapshot product")
		return
	}
	l.LoadLine(p, line)
}

// LoadLine queues one snapshot product with its NDJSON line, the
// product's JSON as the core rendered it, which is stored as is. Neither
// p nor line is retained: the caller may reuse both once LoadLine returns.
// It is called from one goroutine (the follower's).
func (l *Loader) LoadLine(p *api.Product, line []byte) {
	r := l.load.Load()
	if r == nil {
		l.log.Error().Str("id", p.ID).Msg("BUG: Load outside BeginLoad/EndLoad")
		return
	}
	if l.cfg.RenderAllOnLoad {
		r.work <- cloneProduct(p)
		return
	}
	if p.ID == "" || len(p.ID) > maxID {
		l.m.renderErrors.Inc()
		l.log.Error().Int("id_bytes", len(p.ID)).Str("slug", p.Slug).Msg("cannot store a snapshot product with this id")
		return
	}
	if r.cur == nil {
		r.cur = <-r.free
		r.cur.reset()
	}
	r.cur.add(p, line, r.tails.ref(p))
	if r.cur.full() {
		r.send(l.c, l.cfg.LoadMaxFill)
	}
}

// EndLoad completes the load consistent with seq: it waits for the render
// workers, stamps every loaded product with seq, forgets the products
// the snapshot no longer holds and starts the prerender pass.
func (l *Loader) EndLoad(seq uint64) {
	r := l.finishLoad()
	if r == nil {
		return
	}
	l.c.endLoad(r.gen, seq)
	l.pre.start()
}

// Apply applies one change event. Events at or below the sequence already
// rendered for a product are ignored, so replays never move it backwards.
func (l *Loader) Apply(ev *api.Event) {
	var r *Rendered
	if ev.Type == api.EventUpsert && ev.Product != nil && !l.c.newerThan(ev.Product.ID, ev.Seq) {
		var err error
		if r, err = Render(ev.Product, l.cfg.GzipLevel); err != nil {
			l.m.renderErrors.Inc()
			l.log.Error().Err(err).Str("id", ev.Product.ID).Uint64("seq", ev.Seq).Msg("cannot render product")
		} else {
			l.m.renders.Inc()
		}
	}
	l.c.apply(ev, r)
}

// PutFor renders what a request for v needs of p (maskFor), fetched from
// the core at a moment the cache had applied seq, and stores it unless
// the cache has meanwhile applied a newer state of p: a new state, so
// p's other representations are dropped and rendered again when asked
// for. It returns the rendering either way, to serve the request that
// fetched it.
func (l *Loader) PutFor(p *api.Product, seq uint64, v Variant) (*Rendered, error) {
	return l.put(p, seq, maskFor(v))
}

// putAll is PutFor of every representation.
func (l *Loader) putAll(p *api.Product, seq uint64) (*Rendered, error) {
	return l.put(p, seq, allVariants)
}

func (l *Loader) put(p *api.Product, seq uint64, mask uint8) (*Rendered, error) {
	r, err := renderFor(p, mask, l.cfg.GzipLevel)
	if err != nil {
		l.m.renderErrors.Inc()
		return nil, err
	}
	l.m.renders.Inc()
	l.c.store(r, seq, 0, false)
	return r, nil
}

// FillFor renders what a request for v needs of id (maskFor) from its
// stored JSON (left by a snapshot load, which stores JSON only) and
// stores it besides the JSON unless the product changed or was purged
// meanwhile; its other representations are left as they are. ok is false
// when no JSON is stored: the caller fetches the product from the core.
func (l *Loader) FillFor(id string, v Variant) (r *Rendered, ok bool) {
	return l.fillMask(id, maskFor(v))
}

// fillAll is FillFor of every representation.
func (l *Loader) fillAll(id string) (r *Rendered, ok bool) {
	return l.fillMask(id, allVariants)
}

func (l *Loader) fillMask(id string, mask uint8) (r *Rendered, ok bool) {
	r, _, ok = l.fl.fill([]byte(id), nil, mask)
	if ok {
		l.m.renders.Inc()
	}
	return r, ok
}

// Close stops the Loader's background work (a running prerender pass).
// The cache stays usable; Close only ends goroutines.
func (l *Loader) Close() {
	l.pre.stop()
}

// waitPrerender waits until the running background pass, if any, ends.
func (l *Loader) waitPrerender() {
	l.pre.wait()
}

// cloneProduct deep-copies p so render workers never share it with the
// caller.
func cloneProduct(p *api.Product) *api.Product {
	c := *p
	c.Categories = slices.Clone(p.Categories)
	c.Attributes = maps.Clone(p.Attributes)
	c.SKUs = slices.Clone(p.SKUs)
	for i := range c.SKUs {
		if c.SKUs[i].Price != nil {
			m := *c.SKUs[i].Price
			c.SKUs[i].Price = &m
		}
		c.SKUs[i].Attributes = maps.Clone(c.SKUs[i].Attributes)
	}
	return &c
}

// LoadsSummaries reports that a load needs product summaries only (see
// follow.SummarySink): the stored JSON is the snapshot line itself. Not so
// with render_all_on_load, which renders every representation from the
// decoded product.
func (l *Loader) LoadsSummaries() bool { return !l.cfg.RenderAllOnLoad }
