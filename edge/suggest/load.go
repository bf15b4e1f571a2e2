package suggest

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// A snapshot load is a pipeline: Load, on the follower's goroutine, only
// copies what the index needs of a product into a batch (see loadBatch);
// the loader's worker goroutine stores the batches' products as records
// and finds their words while the snapshot still streams, so that the
// follower goes on to the next product at once and EndLoad's build starts
// from words already found. At 1M products Load cost the follower 1.6–2
// CPU-s before (tokenising, interning, a growing arena).

// Limits of a batch: Load hands it to the worker when either is reached.
const (
	batchProducts = 512
	batchBytes    = 128 << 10
	// maxBatches bounds the batches of a load (filling, queued or being
	// stored): when the worker falls behind, Load waits for it.
	maxBatches = 8
	// loadTokenChunk is how many records' words share a flat chunk of a
	// load's tokens (no chunk is copied as the load grows).
	loadTokenChunk = 1 << 14
)

// loadBatch holds products copied by Load: the strings of item i end at
// the offsets items[i].ends in buf, fields in text order, then the leaf
// category. It is reused once the worker has stored it.
type loadBatch struct {
	buf   []byte
	items []loadItem
}

type loadItem struct {
	ends  [nFields + 1]uint32
	price int64
	score int64
	has   bool
}

func (b *loadBatch) add(p *product) {
	var it loadItem
	for f, s := range p.text {
		b.buf = append(b.buf, s...)
		it.ends[f] = uint32(len(b.buf))
	}
	b.buf = append(b.buf, p.leaf...)
	it.ends[nFields] = uint32(len(b.buf))
	it.price, it.score, it.has = p.price, p.score, p.has
	b.items = append(b.items, it)
}

func (b *loadBatch) full() bool { return len(b.items) >= batchProducts || len(b.buf) >= batchBytes }

// product returns item i; its strings point into b.buf.
func (b *loadBatch) product(i int) product {
	it := &b.items[i]
	p := product{price: it.price, score: it.score, has: it.has}
	start := uint32(0)
	if i > 0 {
		start = b.items[i-1].ends[nFields]
	}
	for f := range nFields {
		p.text[f] = b2s(b.buf[start:it.ends[f]])
		start = it.ends[f]
	}
	p.leaf = b2s(b.buf[start:it.ends[nFields]])
	return p
}

// loaded is what a load's worker hands to EndLoad.
type loaded struct {
	recs []record
	tx   *texts
	pre  *prepared
}

// prepared is what a load finds of its records while the snapshot
// streams, so that build need not.
type prepared struct {
	tk       *tokens
	seed     maphash.Seed // the index's
	ids      idTable      // product id → position + 1 in recs
	shadowed []bool       // records a later one with the same id shadows; nil when none
	keys     []rankKey    // see rankOrder
}

// loadIDs is the id table of a load, as an idTable's slots with each
// one's hash beside it (one cache line per probe, and growing reads no
// id).
type loadIDs struct {
	slots []loadSlot
	n     int
}

type loadSlot struct{ v, h uint32 } // v: position+1, 0 = empty

func newLoadIDs(n int) loadIDs { return loadIDs{slots: make([]loadSlot, len(newIDTable(n).s))} }

// add puts record o, of product id, in the table; it returns the
// position of the record it shadows, or -1.
func (t *loadIDs) add(recs *chunked[record], tx *texts, h uint32, id string, o int) int {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]loadSlot, len(newIDTable(t.n+1).s)) // twice the size
		mask := len(t.slots) - 1
		for _, sl := range old {
			if sl.v != 0 {
				j := int(sl.h) & mask
				for t.slots[j].v != 0 {
					j = (j + 1) & mask
				}
				t.slots[j] = sl
			}
		}
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.v == 0 {
			*sl = loadSlot{uint32(o) + 1, h}
			t.n++
			return -1
		}
		if sl.h == h && tx.id(recs.at(int(sl.v-1))) == id {
			old := sl.v - 1
			sl.v = uint32(o) + 1
			return int(old)
		}
	}
}

// table returns the id table (positions + 1), sized as newIDTable
// sizes one for its ids.
func (t *loadIDs) table() idTable {
	tb := newIDTable(t.n)
	tb.n = t.n
	if len(tb.s) == len(t.slots) {
		for i, sl := range t.slots {
			tb.s[i] = sl.v
		}
		return tb
	}
	mask := len(tb.s) - 1
	for _, sl := range t.slots {
		if sl.v != 0 {
			j := int(sl.h) & mask
			for tb.s[j] != 0 {
				j = (j + 1) & mask
			}
			tb.s[j] = sl.v
		}
	}
	return tb
}

// loadHint sizes a load's arrays from the previous load's.
type loadHint struct{ recs int }

// loader is one snapshot load in progress. Its methods other than run
// are called by the Service under loadMu.
type loader struct {
	cur       *loadBatch
	batches   int // allocated
	waits     int // times Load waited for the worker to free a batch
	work      chan *loadBatch
	free      chan *loadBatch
	done      chan loaded
	abandoned atomic.Bool
	started   time.Time
}

// newLoader starts a load's worker.
func newLoader(hint loadHint, cats bool) *loader {
	l := &loader{
		work:    make(chan *loadBatch, maxBatches),
		free:    make(chan *loadBatch, maxBatches),
		done:    make(chan loaded, 1),
		started: time.Now(),
	}
	go l.run(hint, cats)
	return l
}

// add copies p into the current batch, handing it to the worker when
// full.
func (l *loader) add(p *product) {
	if l.cur == nil {
		l.cur = l.batch()
	}
	l.cur.add(p)
	if l.cur.full() {
		l.work <- l.cur
		l.cur = nil
	}
}

// batch returns an empty batch: a stored one, a new one while fewer than
// maxBatches exist, or else the next one the worker stores.
func (l *loader) batch() *loadBatch {
	select {
	case b := <-l.free:
		return b
	default:
	}
	if l.batches < maxBatches {
		l.batches++
		return &loadBatch{buf: make([]byte, 0, batchBytes+4<<10), items: make([]loadItem, 0, batchProducts)}
	}
	l.waits++
	return <-l.free
}

// finish hands the last batch over and waits for the worker's result.
func (l *loader) finish() loaded {
	if l.cur != nil && len(l.cur.items) > 0 {
		l.work <- l.cur
	}
	l.cur = nil
	close(l.work)
	return <-l.done
}

// abandon stops the load: the worker drops the queued batches and exits.
func (l *loader) abandon() {
	l.abandoned.Store(true)
	l.cur = nil
	close(l.work)
}

// run stores the products of every batch as records, in order, with
// their words, until the work channel is closed.
func (l *loader) run(hint loadHint, cats bool) {
	tx := newLoadTexts()
	var (
		recs  chunked[record]
		keys  chunked[rankKey]
		spans chunked[uint64]
		slugs chunked[bool]
		bases chunked[uint32]
	)
	tk := &tokens{chunk: loadTokenChunk, vs: make([]vocab, 1)}
	pre := &prepared{tk: tk, seed: maphash.MakeSeed()}
	ids := newLoadIDs(hint.recs)
	tk.vs[0].init(pre.seed)
	tz := newTokeniser(&tk.vs[0], cats)
	used := 0 // words in the flat chunks before the last
	for b := range l.work {
		if l.abandoned.Load() {
			continue
		}
		for i := range b.items {
			p := b.product(i)
			o := recs.n
			r, size := tx.recordSize(&p, 0, nil, false)
			recs.add(r)
			if o%tk.chunk == 0 {
				// Sized for the words per record so far, and one more.
				words := 12 * tk.chunk
				if c := len(tk.flat); c > 0 {
					used += len(tk.flat[c-1])
					words = used*tk.chunk/o + tk.chunk
				}
				tk.flat = append(tk.flat, make([]uint32, 0, words))
				tk.voc = append(tk.voc, 0)
			}
			id := p.text[fID]
			span, slug, base := tz.add(tk, o, &r, size, p.text[fName], p.text[fBrand], p.leaf, p.text[fSlug], id)
			spans.add(span)
			slugs.add(slug)
			bases.add(base)
			keys.add(rankKeyOf(&r, id, o))
			if pre.shadowed != nil {
				pre.shadowed = append(pre.shadowed, false) // record o's
			}
			if old := ids.add(&recs, tx, uint32(maphash.String(pre.seed, id)), id, o); old >= 0 {
				if pre.shadowed == nil {
					pre.shadowed = make([]bool, o+1)
				}
				pre.shadowed[old] = true
			}
		}
		b.buf, b.items = b.buf[:0], b.items[:0]
		l.free <- b
	}
	if l.abandoned.Load() {
		l.done <- loaded{}
		return
	}
	pre.ids = ids.table()
	tk.span, tk.slug, tk.base = spans.flat(), slugs.flat(), bases.flat()
	pre.keys = keys.flat()
	l.done <- loaded{recs: recs.flat(), tx: tx, pre: pre}
}

// chunked is an append-only sequence kept in chunks of chunkLen
// elements: unlike a slice, growing it copies nothing (a 1M-product load
// grew its per-record slices by 1.25× steps, copying them ~4 times over:
// 1 CPU-s). flat copies it into one slice once, at the end.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkLen = 1 << 14

func (c *chunked[T]) add(v T) {
	if c.n%chunkLen == 0 {
		c.chunks = append(c.chunks, make([]T, 0, chunkLen))
	}
	k := len(c.chunks) - 1
	c.chunks[k] = append(c.chunks[k], v)
	c.n++
}

func (c *chunked[T]) at(i int) *T { return &c.chunks[i/chunkLen][i%chunkLen] }

// flat returns the elements in one slice, letting go of each chunk once
// copied.
func (c *chunked[T]) flat() []T {
	out := make([]T, 0, c.n)
	for i, ch := range c.chunks {
		out = append(out, ch...)
		c.chunks[i] = nil
	}
	c.chunks = nil
	return out
}
