package pages

import (
	"maps"
	"slices"
	"sync"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// loader runs one snapshot load. Its current batch and tail cache belong
// to the follower's goroutine (Load and LoadLine). A full batch goes to
// both prep and order: Workers goroutines take it from prep to hash it
// (prepBatch), and one store goroutine takes the batches from order, in
// the order they were loaded, and stores each once it is prepared: the
// store stage, serial under s.mu, keeps only the index changes and the
// cache writes, and never waits for the lock on another load worker.
type loader struct {
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
func (l *loader) send(s *Cache) {
	if !l.over && s.cfg.LoadMaxFill > 0 && s.cacheFill() >= s.cfg.LoadMaxFill {
		l.over = true
	}
	l.cur.indexOnly = l.over
	l.order <- l.cur // neither blocks: at most cap(free) batches are out
	l.prep <- l.cur
	l.cur = nil
}

// BeginLoad starts a snapshot load. The store keeps serving its current
// state; products seen by the load are stored as they arrive, products
// not seen are dropped at EndLoad. A BeginLoad without EndLoad of the
// previous load (a failed download) abandons that load. A running
// prerender pass is stopped.
func (s *Cache) BeginLoad() {
	s.stopPrerender()
	s.finishLoad()
	s.mu.Lock()
	s.gen++
	if s.gen == 0 {
		s.gen = 1
	}
	nb := 2*s.cfg.Workers + 2
	l := &loader{gen: s.gen, work: make(chan *api.Product, 4*s.cfg.Workers),
		prep: make(chan *loadBatch, nb), order: make(chan *loadBatch, nb), free: make(chan *loadBatch, nb)}
	for i := 0; i < nb; i++ {
		l.free <- &loadBatch{prepared: make(chan struct{}, 1)}
	}
	s.load.Store(l)
	s.mu.Unlock()
	for w := 0; w < s.cfg.Workers; w++ {
		l.wg.Add(2)
		go func() {
			defer l.wg.Done()
			for p := range l.work {
				s.loadOne(p, l.gen)
			}
		}()
		go func() {
			defer l.wg.Done()
			for b := range l.prep {
				s.prepBatch(b)
				b.prepared <- struct{}{}
			}
		}()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		var w loadWorker
		for b := range l.order {
			<-b.prepared
			s.storeBatch(&w, b, l.gen)
			l.free <- b
		}
	}()
}

func (s *Cache) loadOne(p *api.Product, gen uint32) {
	r, err := Render(p, s.cfg.GzipLevel)
	if err != nil {
		s.renderErrors.Inc()
		s.log.Error().Err(err).Str("id", p.ID).Msg("cannot render snapshot product")
		return
	}
	s.renders.Inc()
	s.store(r, 0, gen, true)
}

// finishLoad stores the current load's last batch and waits for its
// workers; it returns the load.
func (s *Cache) finishLoad() *loader {
	l := s.load.Swap(nil)
	if l != nil {
		if l.cur != nil && len(l.cur.items) > 0 {
			l.send(s)
		}
		l.cur = nil
		close(l.work)
		close(l.prep)
		close(l.order)
		l.wg.Wait()
	}
	return l
}

// Load queues one snapshot product. p is not retained: the caller may
// reuse it once Load returns.
func (s *Cache) Load(p *api.Product) {
	line, err := json.Marshal(p)
	if err != nil {
		s.renderErrors.Inc()
		s.log.Error().Err(err).Str("id", p.ID).Msg("cannot render snapshot product")
		return
	}
	s.LoadLine(p, line)
}

// LoadLine queues one snapshot product with its NDJSON line, the
// product's JSON as the core rendered it, which is stored as is. Neither
// p nor line is retained: the caller may reuse both once LoadLine returns.
// It is called from one goroutine (the follower's).
func (s *Cache) LoadLine(p *api.Product, line []byte) {
	l := s.load.Load()
	if l == nil {
		s.log.Error().Str("id", p.ID).Msg("BUG: Load outside BeginLoad/EndLoad")
		return
	}
	if s.cfg.RenderAllOnLoad {
		l.work <- cloneProduct(p)
		return
	}
	if p.ID == "" || len(p.ID) > maxID {
		s.renderErrors.Inc()
		s.log.Error().Int("id_bytes", len(p.ID)).Str("slug", p.Slug).Msg("cannot store a snapshot product with this id")
		return
	}
	if l.cur == nil {
		l.cur = <-l.free
		l.cur.reset()
	}
	l.cur.add(p, line, l.tails.ref(p))
	if l.cur.full() {
		l.send(s)
	}
}

// EndLoad completes the load consistent with seq: it waits for the render
// workers, stamps every loaded product with seq and forgets the products
// the snapshot no longer holds.
func (s *Cache) EndLoad(seq uint64) {
	l := s.finishLoad()
	if l == nil {
		return
	}
	s.mu.Lock()
	for i := range s.x.slots {
		sl := &s.x.slots[i]
		switch {
		case sl.flags&flagFree != 0:
		case sl.gen == l.gen:
			sl.seq = max(sl.seq, seq)
		case sl.seq <= seq:
			s.remove(uint32(i))
		}
	}
	s.x.compact()
	s.seq = max(s.seq, seq)
	s.log.Info().Uint64("seq", seq).Int("products", s.live).Msg("page store loaded snapshot")
	s.mu.Unlock()
	s.startPrerender()
}

// Apply applies one change event. Events at or below the sequence already
// rendered for a product are ignored, so replays never move it backwards.
func (s *Cache) Apply(ev *api.Event) {
	switch ev.Type {
	case api.EventUpsert:
		if ev.Product != nil && !s.newerThan(ev.Product.ID, ev.Seq) {
			r, err := Render(ev.Product, s.cfg.GzipLevel)
			if err != nil {
				s.renderErrors.Inc()
				s.log.Error().Err(err).Str("id", ev.Product.ID).Uint64("seq", ev.Seq).Msg("cannot render product")
				break
			}
			s.renders.Inc()
			s.store(r, ev.Seq, 0, false)
		}
	case api.EventDelete:
		s.delete(ev.ID, ev.Seq)
	case api.EventPurge:
		s.Purge(ev.Keys)
	case api.EventPurgeAll:
		s.PurgeAll()
	}
	s.mu.Lock()
	s.seq = max(s.seq, ev.Seq)
	s.mu.Unlock()
}

// newerThan reports whether the store holds a state of id newer than seq.
func (s *Cache) newerThan(id string, seq uint64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.x.lookup([]byte(id))
	return ok && s.x.slots[i].seq >= seq
}

func (s *Cache) delete(id string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.x.lookup([]byte(id))
	if !ok {
		i = s.newSlot(id)
	} else if s.x.slots[i].seq >= seq {
		return
	}
	s.dropBytes(i)
	if s.x.slots[i].flags&flagDeleted == 0 {
		s.live--
	}
	s.x.setSlug(i, "")
	s.x.setTail(i, "")
	sl := &s.x.slots[i]
	sl.seq = seq
	sl.flags = flagDeleted
	sl.ver++
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
func (s *Cache) LoadsSummaries() bool { return !s.cfg.RenderAllOnLoad }
