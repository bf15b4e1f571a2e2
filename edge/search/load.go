package search

import (
	"bytes"
	"sync/atomic"
	"time"
	"unsafe"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// A snapshot load is a pipeline, like suggest's: Load and LoadLine, on the
// follower's goroutine, only copy what the index needs of a product into
// a batch; the loader's goroutine indexes the batches into a new index
// while the snapshot still streams (decoding the attributes from the
// product's line, which the summary the follower decodes leaves out), and
// EndLoad finishes it (facet choice, sort buckets) and swaps it in.

const (
	batchProducts = 512
	batchBytes    = 256 << 10
	maxBatches    = 8
)

// loadBatch holds copied products: item i's strings end at the offsets
// items[i].ends in buf.
type loadBatch struct {
	buf   []byte
	items []loadItem
}

// Strings of a loadItem, in buf order.
const (
	sID = iota
	sName
	sSlug
	sBrand
	sImage
	sCurrency
	sCats  // category names, each followed by \x1f
	sAttrs // attribute names and values, each followed by \x1f
	sLine  // the product's NDJSON line, when its attributes come from it
	nStrs
)

type loadItem struct {
	ends   [nStrs]uint32
	price  int64
	pop    int64
	priced bool
	band   uint8
}

func (b *loadBatch) add(p *api.Product, line []byte) {
	var pr prod
	pr.skus(p)
	var it loadItem
	for i, s := range [...]string{p.ID, p.Name, p.Slug, p.Brand, p.Image, pr.currency} {
		b.buf = append(b.buf, s...)
		it.ends[i] = uint32(len(b.buf))
	}
	for _, c := range p.Categories {
		b.buf = append(append(b.buf, c...), 0x1f)
	}
	it.ends[sCats] = uint32(len(b.buf))
	for k, v := range p.Attributes {
		b.buf = append(append(append(append(b.buf, k...), 0x1f), v...), 0x1f)
	}
	it.ends[sAttrs] = uint32(len(b.buf))
	if p.Attributes == nil && line != nil {
		b.buf = append(b.buf, line...)
	}
	it.ends[sLine] = uint32(len(b.buf))
	it.price, it.pop, it.priced, it.band = pr.price, p.Popularity, pr.priced, pr.band
	b.items = append(b.items, it)
}

func (b *loadBatch) full() bool { return len(b.items) >= batchProducts || len(b.buf) >= batchBytes }

// prod returns item i; its strings point into b.buf, its slices into
// the scratch arguments.
func (b *loadBatch) prod(i int, cats []string, attrs []kv, line *lineAttrs) (prod, []string, []kv) {
	it := &b.items[i]
	start := uint32(0)
	if i > 0 {
		start = b.items[i-1].ends[nStrs-1]
	}
	var s [nStrs]string
	for k := range s {
		s[k] = b2s(b.buf[start:it.ends[k]])
		start = it.ends[k]
	}
	cats = cats[:0]
	for c := range splitSep(s[sCats]) {
		cats = append(cats, c)
	}
	attrs = attrs[:0]
	var key string
	n := 0
	for v := range splitSep(s[sAttrs]) {
		if n%2 == 0 {
			key = v
		} else if key != "" && v != "" {
			attrs = append(attrs, kv{key, v})
		}
		n++
	}
	if s[sLine] != "" {
		attrs = line.decode(s[sLine], attrs)
	}
	sortKV(attrs)
	return prod{id: s[sID], name: s[sName], slug: s[sSlug], brand: s[sBrand], image: s[sImage], currency: s[sCurrency],
		cats: cats, attrs: attrs, price: it.price, priced: it.priced, band: it.band, pop: it.pop}, cats, attrs
}

// splitSep yields the \x1f-terminated parts of s.
func splitSep(s string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			i := 0
			for i < len(s) && s[i] != 0x1f {
				i++
			}
			if !yield(s[:i]) {
				return
			}
			s = s[min(i+1, len(s)):]
		}
	}
}

// lineAttrs decodes the attributes of a product's NDJSON line.
type lineAttrs struct {
	v struct {
		Attributes map[string]string `json:"attributes"`
	}
}

var attrsKey = []byte(`"attributes"`)

func (l *lineAttrs) decode(line string, dst []kv) []kv {
	b := unsafe.Slice(unsafe.StringData(line), len(line))
	if !bytes.Contains(b, attrsKey) {
		return dst
	}
	clear(l.v.Attributes)
	if json.Unmarshal(b, &l.v) != nil {
		return dst
	}
	for k, v := range l.v.Attributes {
		if k != "" && v != "" {
			dst = append(dst, kv{k, v})
		}
	}
	return dst
}

// loader is one snapshot load in progress. Its methods other than run
// are called by the Service under loadMu.
type loader struct {
	cur       *loadBatch
	batches   int
	work      chan *loadBatch
	free      chan *loadBatch
	done      chan *index
	abandoned atomic.Bool
	started   time.Time
}

func newLoader(cfg *Config) *loader {
	l := &loader{
		work:    make(chan *loadBatch, maxBatches),
		free:    make(chan *loadBatch, maxBatches),
		done:    make(chan *index, 1),
		started: time.Now(),
	}
	go l.run(cfg)
	return l
}

func (l *loader) add(p *api.Product, line []byte) {
	if l.cur == nil {
		l.cur = l.batch()
	}
	l.cur.add(p, line)
	if l.cur.full() {
		l.work <- l.cur
		l.cur = nil
	}
}

func (l *loader) batch() *loadBatch {
	select {
	case b := <-l.free:
		return b
	default:
	}
	if l.batches < maxBatches {
		l.batches++
		return &loadBatch{buf: make([]byte, 0, batchBytes+8<<10), items: make([]loadItem, 0, batchProducts)}
	}
	return <-l.free
}

// finish hands the last batch over and returns the loaded index (not
// yet finished: see index.finishLoad).
func (l *loader) finish() *index {
	if l.cur != nil && len(l.cur.items) > 0 {
		l.work <- l.cur
	}
	l.cur = nil
	close(l.work)
	return <-l.done
}

func (l *loader) abandon() {
	l.abandoned.Store(true)
	l.cur = nil
	close(l.work)
}

// run indexes the batches into a new index until the work channel is
// closed.
func (l *loader) run(cfg *Config) {
	x := newIndex(cfg)
	x.loading = true
	var (
		cats  []string
		attrs []kv
		line  lineAttrs
	)
	for b := range l.work {
		if l.abandoned.Load() {
			continue
		}
		for i := range b.items {
			var p prod
			p, cats, attrs = b.prod(i, cats, attrs, &line)
			x.load(&p)
		}
		b.buf, b.items = b.buf[:0], b.items[:0]
		l.free <- b
	}
	if l.abandoned.Load() {
		l.done <- nil
		return
	}
	l.done <- x
}

// load adds a snapshot product; a product loaded twice is kept as last
// loaded.
func (x *index) load(p *prod) {
	o, _, ok := x.findID(p.id)
	if ok {
		x.unpost(o)
	} else {
		o = x.newOrdinal()
	}
	x.store(o, p, 0)
	if !ok {
		x.putID(p.id, o)
	}
	x.post(o)
}
