package search

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

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

// prod returns item i, and the raw JSON object of its attributes when
// they are to be read from its line; its strings point into b.buf, its
// slices into the scratch arguments.
func (b *loadBatch) prod(i int, cats []string, attrs []kv) (prod, string, []string, []kv) {
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
	raw := ""
	if s[sLine] != "" {
		raw = attributesJSON(s[sLine])
	}
	sortKV(attrs)
	return prod{id: s[sID], name: s[sName], slug: s[sSlug], brand: s[sBrand], image: s[sImage], currency: s[sCurrency],
		cats: cats, attrs: attrs, price: it.price, priced: it.priced, band: it.band, pop: it.pop}, raw, cats, attrs
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

// attrCache maps the raw JSON of an attributes object to its sorted
// pair ids, so that products sharing one (variants of a model; generated
// catalogs) are decoded once. It holds at most attrCacheBytes of keys.
type attrCache struct {
	m     map[string][]uint32
	bytes int
	v     struct {
		Attributes map[string]string `json:"attributes"`
	}
	kvs []kv
}

const attrCacheBytes = 16 << 20

// pairs returns the pair ids of the attributes object raw (valid until
// the next call when decoded).
func (c *attrCache) pairs(x *index, raw string) []uint32 {
	if ids, ok := c.m[raw]; ok {
		return ids
	}
	clear(c.v.Attributes)
	doc := make([]byte, 0, len(raw)+16)
	doc = append(append(append(doc, `{"attributes":`...), raw...), '}')
	c.kvs = c.kvs[:0]
	if json.Unmarshal(doc, &c.v) == nil {
		for k, v := range c.v.Attributes {
			if k != "" && v != "" {
				c.kvs = append(c.kvs, kv{k, v})
			}
		}
	}
	sortKV(c.kvs)
	ids := x.pairsOf(c.kvs, nil)
	if c.m == nil || c.bytes > attrCacheBytes {
		c.m, c.bytes = map[string][]uint32{}, 0
	}
	c.m[strings.Clone(raw)] = ids
	c.bytes += len(raw) + 4*len(ids) + 64
	return ids
}

// attributesJSON returns the value of the top-level "attributes" key of
// a product's JSON line ("" when absent or not an object), found by
// skipping the other values.
func attributesJSON(line string) string {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return ""
	}
	i++
	for {
		i = skipSpace(line, i)
		if i >= len(line) || line[i] != '"' {
			return ""
		}
		kEnd := skipString(line, i)
		if kEnd < 0 {
			return ""
		}
		key := line[i+1 : kEnd-1]
		i = skipSpace(line, kEnd)
		if i >= len(line) || line[i] != ':' {
			return ""
		}
		i = skipSpace(line, i+1)
		vEnd := skipValue(line, i)
		if vEnd < 0 {
			return ""
		}
		if key == "attributes" {
			if line[i] != '{' {
				return ""
			}
			return line[i:vEnd]
		}
		i = skipSpace(line, vEnd)
		if i >= len(line) || line[i] != ',' {
			return ""
		}
		i++
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string at s[i] ('"'), -1
// when it does not end.
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value at s[i], -1 when it
// is malformed.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				e := skipString(s, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' {
		j++
	}
	if j == i {
		return -1
	}
	return j
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
		cache attrCache
	)
	for b := range l.work {
		if l.abandoned.Load() {
			continue
		}
		for i := range b.items {
			var p prod
			var raw string
			p, raw, cats, attrs = b.prod(i, cats, attrs)
			var pairs []uint32
			if raw != "" {
				pairs = cache.pairs(x, raw)
			}
			x.load(&p, pairs)
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

// load stores a snapshot product and its title words (see
// index.lk); a product loaded twice is kept as last loaded. pairs are its
// attribute value ids, or nil.
func (x *index) load(p *prod, pairs []uint32) {
	o, _, ok := x.findID(p.id)
	if !ok {
		o = x.newOrdinal()
	}
	x.store(o, p, 0, pairs)
	if !ok {
		x.putID(p.id, o)
		x.live++
	}
	start := len(x.lk)
	for _, text := range [2]string{p.name, p.brand} {
		if x.norm.Normalize(text) != nil {
			continue
		}
		for i := range x.norm.Words {
			t, _ := x.termID(b2s(x.norm.Word(i)), true)
			x.lk = append(x.lk, t)
		}
	}
	slices.Sort(x.lk[start:])
	x.lk = append(x.lk[:start], slices.Compact(x.lk[start:])...)
	for len(x.lkOff) <= int(o) {
		x.lkOff, x.lkN = append(x.lkOff, 0), append(x.lkN, 0)
	}
	x.lkOff[o], x.lkN[o] = uint32(start), uint16(min(len(x.lk)-start, 1<<16-1))
}
