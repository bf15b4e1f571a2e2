package suggest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// build indexes recs (whose blobs are in tx, without terms) from
// scratch. Ordinals follow rank order, and the blobs are rewritten with
// their terms into a new arena in that order. Of records with the same id
// the last wins.
//
// Tokenising runs on every core (each worker interns words in its own
// vocabulary, merged into the index's afterwards), ranking and the id
// table on other goroutines meanwhile. The terms are then copied into
// rank order once (on every core), and everything after reads them
// sequentially: the blobs are rewritten, postings and prefix counts come
// from two passes over each core's range of products and come out
// sorted, prefix lists from the heads of their terms' postings (the last
// three on every core), and the best products of every list sit together
// in memory.
//
// pre, when not nil, holds what the load found while the snapshot
// streamed (see loader): the records' words, the id table and the rank
// keys; otherwise build finds them.
func build(cfg *Config, recs []record, tx *texts, pre *prepared) *index {
	x := newIndex(cfg)
	if tx != nil {
		x.tx = tx
	}
	if pre == nil {
		pre = &prepared{}
	} else {
		x.seed = pre.seed
	}
	orderc := make(chan []uint32, 1)
	keys := pre.keys
	go func() { orderc <- rankOrder(recs, x.tx, keys) }()
	shadowc := make(chan []bool, 1)
	if pre.tk != nil {
		x.recs, x.ids = recs, pre.ids
		shadowc <- pre.shadowed
	} else {
		go func() { shadowc <- x.indexIDs(recs) }()
	}
	x.meta = make([]meta, len(recs))
	workers := buildWorkers(len(recs))
	tk := pre.tk
	if tk == nil {
		tk = x.tokenise(recs, workers)
	}
	pre = nil
	x.internTerms(tk, workers)
	order := <-orderc
	if shadowed := <-shadowc; shadowed != nil {
		// Repeated ids (rare: a snapshot lists a product once): the
		// shadowed records get no rank.
		kept := order[:0]
		for _, o := range order {
			if !shadowed[o] {
				kept = append(kept, o)
			}
		}
		order = kept
	}
	x.live = len(order)
	meta := make([]meta, len(order))
	ranked := make([]record, len(order))
	slugs := make([]bool, len(order))
	bases := make([]uint32, len(order))
	rt := tk.rankedEnds(order)
	var wg sync.WaitGroup
	chunk := (len(order) + workers - 1) / workers
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := min(len(order), w*chunk), min(len(order), (w+1)*chunk)
			for i := lo; i < hi; i++ {
				o := order[i]
				ranked[i], meta[i], slugs[i], bases[i] = recs[o], x.meta[o], tk.slug[o], tk.base[o]
				copy(rt.of(i), tk.of(o))
			}
		}()
	}
	wg.Wait()
	x.recs, x.meta = ranked, meta
	tk = nil
	wg.Add(2)
	go func() {
		defer wg.Done()
		x.renumberIDs(order, len(recs))
	}()
	var offs []uint32
	go func() {
		defer wg.Done()
		offs = x.writeBlobs(rt, slugs, bases, workers)
	}()
	x.fillPostings(rt, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.fillPrefixes(w, workers)
		}()
	}
	wg.Wait()
	for p, terms := range x.pfxTerms {
		if len(terms) == 1 {
			x.pfxCount[p] = x.termCount[terms[0]]
		}
	}
	for i, off := range offs {
		x.recs[i].off = off
		if slugs[i] {
			x.recs[i].flags |= recSlugAuto
		}
	}
	x.seen = make([]uint64, (len(x.recs)+63)/64)
	return x
}

// indexIDs fills the id table with the positions of recs (x.recs meanwhile)
// and returns which records a later one with the same id shadows (nil
// when none does).
func (x *index) indexIDs(recs []record) []bool {
	x.recs = recs
	x.ids = newIDTable(len(recs))
	var shadowed []bool
	for o := range recs {
		id := x.tx.id(&recs[o])
		old, slot, ok := x.findID(id)
		if ok {
			if shadowed == nil {
				shadowed = make([]bool, len(recs))
			}
			shadowed[old] = true
		} else {
			x.ids.n++
		}
		x.ids.s[slot] = uint32(o) + 1
	}
	return shadowed
}

// renumberIDs rewrites the id table from positions to ranks: order lists
// the n positions in rank order.
func (x *index) renumberIDs(order []uint32, n int) {
	rank := make([]uint32, n)
	for i, o := range order {
		rank[o] = uint32(i)
	}
	for i, v := range x.ids.s {
		if v != 0 {
			x.ids.s[i] = rank[v-1] + 1
		}
	}
}

// writeBlobs rewrites the records' blobs with their terms, in rank order,
// into a new arena, without the slugs derived from name and id (slugs[i]),
// and returns their offsets there. Workers write a range of products
// each, into its place in the arena, sized by a first pass (bases[i] is
// the size of product i's blob without terms and derived slug).
func (x *index) writeBlobs(rt *rankedTerms, slugs []bool, bases []uint32, workers int) []uint32 {
	tx := x.tx
	chunk := (len(x.recs) + workers - 1) / workers
	span := func(w int) (int, int) { return min(len(x.recs), w*chunk), min(len(x.recs), (w+1)*chunk) }
	offs := make([]uint32, len(x.recs))
	sizes := make([]int, workers+1) // sizes[w+1]: bytes of worker w's blobs
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := span(w)
			size := 0
			for i := lo; i < hi; i++ {
				n, prev := 0, uint32(0)
				for _, t := range rt.of(i) {
					n += uvarintLen(uint64(t - prev))
					prev = t
				}
				size += int(bases[i]) + n + uvarintLen(uint64(n)) - 1
			}
			sizes[w+1] = size
		}()
	}
	wg.Wait()
	for w := range workers {
		sizes[w+1] += sizes[w]
	}
	if sizes[workers] > math.MaxUint32-1<<20 {
		panic(fmt.Sprintf("suggest: cannot index more than 4 GiB of product text (%d bytes)", sizes[workers]))
	}
	arena := make([]byte, sizes[workers])
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := span(w)
			dst := arena[sizes[w]:sizes[w]:sizes[w+1]]
			for i := lo; i < hi; i++ {
				b := tx.blob(&x.recs[i])
				if slugs[i] {
					b.text[fSlug] = ""
				}
				offs[i] = uint32(sizes[w] + len(dst))
				dst = appendBlob(dst, &b.text, rt.of(i))
			}
			if len(dst) != sizes[w+1]-sizes[w] {
				panic("suggest: blob sizes miscounted")
			}
		}()
	}
	wg.Wait()
	tx.blobs, tx.chunks = arena, nil
	return offs
}

// termRanges records, for every prefix, the range of term ids it covers:
// build interns terms sorted, so the terms sharing a prefix are
// consecutive, and "term t has prefix p" is two compares for every term
// of the build (ids below x.sortedTerms). Terms added later by the change
// feed are checked through their prefix ids.
func (x *index) termRanges() {
	x.sortedTerms = uint32(len(x.termHash))
	x.pfxLo = make([]uint32, len(x.pfxHash))
	x.pfxHi = make([]uint32, len(x.pfxHash))
	for p, terms := range x.pfxTerms {
		x.pfxLo[p], x.pfxHi[p] = terms[0], terms[len(terms)-1]+1
	}
}

// maxSeenTexts bounds the brands and categories a tokenising worker
// remembers.
const maxSeenTexts = 1 << 14

// buildWorkers returns how many goroutines build over n records.
func buildWorkers(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/20_000, 8))
}

// fillPostings lists every term's products in ordinal (rank) order,
// carved from one arena, and counts the products under every prefix
// several terms share. Workers take a range of products each, in two
// passes over it: the first counts (products per term and per shared
// prefix, the bytes of each term's postings within the range, its first
// and last product there), the second, once every range's place in
// each term's postings is known, encodes the range's share of them.
func (x *index) fillPostings(rt *rankedTerms, workers int) {
	nt := len(x.termHash)
	shared := x.sharedPrefixes()
	chunk := (len(x.recs) + workers - 1) / workers
	span := func(w int) (int, int) { return min(len(x.recs), w*chunk), min(len(x.recs), (w+1)*chunk) }
	type termPart struct{ count, size, first, last uint32 } // last is ordinal+1, 0 when none
	type part struct {
		terms []termPart // per term, together: one cache line per posting
		pfx   []uint32   // products per shared prefix
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pt := part{terms: make([]termPart, nt), pfx: make([]uint32, len(x.pfxHash))}
			stamp := make([]uint32, len(x.pfxHash)) // product + 1
			lo, hi := span(w)
			for i := lo; i < hi; i++ {
				o := uint32(i) + 1
				for _, t := range rt.of(i) {
					tp := &pt.terms[t]
					tp.count++
					if tp.last != 0 {
						tp.size += uint32(uvarintLen(uint64(o - tp.last)))
					} else {
						tp.first = o
					}
					tp.last = o
					for _, p := range x.termPrefixes(t)[:shared[t]] {
						if stamp[p] != o {
							stamp[p] = o
							pt.pfx[p]++
						}
					}
				}
			}
			parts[w] = pt
		}()
	}
	wg.Wait()
	// Each range's share of term t starts at start[w][t] in t's postings,
	// its first delta counted from prev[w][t] (the ordinal before it).
	start, prev := make([][]uint32, workers), make([][]uint32, workers)
	size := make([]uint32, nt)
	for w := range workers {
		start[w], prev[w] = make([]uint32, nt), make([]uint32, nt)
	}
	for t := range nt {
		total, last := uint32(0), uint32(0)
		for w := range workers {
			tp := &parts[w].terms[t]
			x.termCount[t] += tp.count
			start[w][t], prev[w][t] = total, last
			if tp.count > 0 {
				total += uint32(uvarintLen(uint64(tp.first-1-last))) + tp.size
				last = tp.last - 1
			}
		}
		size[t] = total
	}
	for w := range workers {
		for p, n := range parts[w].pfx {
			x.pfxCount[p] += n
		}
		parts[w] = part{}
	}
	totalBytes := 0
	for _, n := range size {
		totalBytes += int(n)
	}
	arena := make([]byte, totalBytes)
	for t, n := range size {
		x.termPost[t] = arena[:n:n]
		arena = arena[n:]
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur, last := start[w], prev[w]
			lo, hi := span(w)
			for i := lo; i < hi; i++ {
				for _, t := range rt.of(i) {
					d := uint32(i) - last[t]
					last[t] = uint32(i)
					p, c := x.termPost[t], cur[t]
					for d >= 0x80 {
						p[c] = byte(d) | 0x80
						d >>= 7
						c++
					}
					p[c] = byte(d)
					cur[t] = c + 1
				}
			}
		}()
	}
	wg.Wait()
}

// sharedPrefixes returns, per term, how many of its prefixes (its
// shortest ones) several terms share: the prefixes fillPostings counts
// products under. A prefix of one term counts that term's products (build
// sets it from termCount); a prefix's terms include those of every longer
// prefix of the same term.
func (x *index) sharedPrefixes() []uint8 {
	shared := make([]uint8, len(x.termHash))
	for t := range shared {
		tp := x.termPrefixes(uint32(t))
		k := 0
		for k < len(tp) && len(x.pfxTerms[tp[k]]) > 1 {
			k++
		}
		shared[t] = uint8(k)
	}
	return shared
}

// fillPrefixes sets the list of every prefix p with p%workers == w from
// the postings of its terms, which are in rank order while building: the
// best depth products of a prefix are among the first depth of each of
// its terms, and a term's postings are read only while they can still
// enter the list.
func (x *index) fillPrefixes(w, workers int) {
	var best []uint32 // ordinals, ascending: best first
	for p := w; p < len(x.pfxHash); p += workers {
		best = best[:0]
		for _, t := range x.pfxTerms[p] {
			for it, i := x.postings(t), 0; i < x.depth && it.next(); i++ {
				o := it.o
				if len(best) == x.depth && o > best[len(best)-1] {
					break
				}
				j, found := slices.BinarySearch(best, o)
				if found {
					continue
				}
				if len(best) == x.depth {
					best = best[:len(best)-1]
				}
				best = slices.Insert(best, j, o)
			}
		}
		x.pfxList[p] = x.entries(best)
	}
}

// tokens holds the term ids of every record while building: record o's
// are flat[o/chunk][span>>32 : span>>32 + span&0xffffffff], local ids of
// the vocabulary vs[voc[o/chunk]] until internTerms makes them the
// index's term ids.
type tokens struct {
	flat  [][]uint32
	voc   []int
	vs    []vocab
	span  []uint64
	chunk int
	slug  []bool   // the record's slug is api.Slug(name, id)
	base  []uint32 // its blob's size without terms and such a slug
}

// rankedTerms holds the term ids of every product in rank order while
// building: product i's are flat[end[i-1]:end[i]].
type rankedTerms struct {
	flat []uint32
	end  []uint32
}

func (rt *rankedTerms) of(i int) []uint32 {
	a := uint32(0)
	if i > 0 {
		a = rt.end[i-1]
	}
	return rt.flat[a:rt.end[i]]
}

// rankedEnds returns the rankedTerms of the records in order, sized but
// not filled: the caller copies each record's terms into rt.of(i).
func (tk *tokens) rankedEnds(order []uint32) *rankedTerms {
	rt := &rankedTerms{end: make([]uint32, len(order))}
	total := uint32(0)
	for i, o := range order {
		total += uint32(tk.span[o])
		rt.end[i] = total
	}
	rt.flat = make([]uint32, total)
	return rt
}

func (tk *tokens) of(o uint32) []uint32 {
	s := tk.span[o]
	a := uint32(s >> 32)
	return tk.flat[int(o)/tk.chunk][a : a+uint32(s)]
}

// tokeniser finds the words of records into one vocabulary. Brands and
// categories repeat: the words of an interned one are looked up once.
type tokeniser struct {
	cats bool // index the category's words (Config.CategoryWords)
	v    *vocab
	norm *Normalizer
	seen map[uint64][2]uint32 // kind<<32 | id → its ids in the chunk's flat
	c    int                  // the flat chunk seen refers to
}

func newTokeniser(v *vocab, cats bool) *tokeniser {
	return &tokeniser{cats: cats, v: v, norm: NewNormalizer(), seen: map[uint64][2]uint32{}, c: -1}
}

// add appends record o's words (of name, brand and category; local ids)
// to flat chunk o/tk.chunk, and returns their span there, whether its
// slug is derived and its base size (size: its blob's size).
func (tz *tokeniser) add(tk *tokens, o int, r *record, size int, name, brand, category, slug, id string) (span uint64, derived bool, base uint32) {
	if derived = derivedSlug(slug, name, id); derived {
		n := len(slug)
		size -= n + uvarintLen(uint64(n)) - 1
	}
	c := o / tk.chunk
	if c != tz.c {
		clear(tz.seen) // spans are within a chunk
		tz.c = c
	}
	flat := tk.flat[c]
	start := len(flat)
	for f, text := range [...]string{name, brand, category} {
		if f == 2 && !tz.cats {
			continue
		}
		key := uint64(0)
		switch f {
		case 1:
			key = 1<<32 | uint64(r.ids[0])
		case 2:
			key = 2<<32 | uint64(r.cat)
		}
		if uint32(key) != 0 {
			if span, ok := tz.seen[key]; ok {
				flat = append(flat, flat[span[0]:span[1]]...)
				continue
			}
		}
		from := len(flat)
		if tz.norm.Normalize(text) != nil {
			continue // strings from JSON are valid UTF-8
		}
		for k := range tz.norm.Words {
			flat = append(flat, tz.v.id(tz.norm.Word(k)))
		}
		if uint32(key) != 0 && len(tz.seen) < maxSeenTexts {
			tz.seen[key] = [2]uint32{uint32(from), uint32(len(flat))}
		}
	}
	tk.flat[c] = flat
	return uint64(start)<<32 | uint64(len(flat)-start), derived, uint32(size)
}

// tokenise finds the words of every record, splitting recs among workers
// that each intern words into a vocabulary of their own (see
// internTerms).
func (x *index) tokenise(recs []record, workers int) *tokens {
	chunk := max(1, (len(recs)+workers-1)/workers)
	tk := &tokens{flat: make([][]uint32, workers), voc: make([]int, workers), vs: make([]vocab, workers),
		span: make([]uint64, len(recs)), chunk: chunk, slug: make([]bool, len(recs)), base: make([]uint32, len(recs))}
	tx := x.tx
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := min(len(recs), w*chunk), min(len(recs), (w+1)*chunk)
			tk.voc[w] = w
			tk.vs[w].init(x.seed)
			tk.flat[w] = make([]uint32, 0, 12*(hi-lo))
			tz := newTokeniser(&tk.vs[w], x.cfg.CategoryWords)
			for o := lo; o < hi; o++ {
				r := &recs[o]
				b := tx.blob(r)
				tk.span[o], tk.slug[o], tk.base[o] = tz.add(tk, o, r, b.size, b.text[fName], tx.text(r, &b, fBrand), tx.categoryOf(r), b.text[fSlug], b.text[fID])
			}
		}()
	}
	wg.Wait()
	return tk
}

// internTerms interns the words of tk's vocabularies into the index, one
// intern per distinct word and vocabulary, and translates the records'
// local ids (workers take a share of the flat chunks each), sorting each
// record's terms and setting its signatures.
func (x *index) internTerms(tk *tokens, workers int) {
	// Terms are interned in lexicographic order, so that the terms with
	// any prefix have consecutive ids (see termRanges).
	var all []string
	for w := range tk.vs {
		for i := range tk.vs[w].n() {
			all = append(all, string(tk.vs[w].word(uint32(i))))
		}
	}
	slices.Sort(all)
	for _, word := range slices.Compact(all) {
		x.term(s2b(word))
	}
	globals := make([][]uint32, len(tk.vs))
	for w := range tk.vs {
		v := &tk.vs[w]
		globals[w] = make([]uint32, v.n())
		for i := range globals[w] {
			word := v.word(uint32(i))
			globals[w][i], _ = x.findTerm(word, x.hash(word))
		}
		*v = vocab{}
	}
	x.termRanges()
	// A product's signatures are the union of its terms'.
	tm := make([]meta, len(x.termHash))
	for t := range tm {
		tm[t] = x.termMeta(uint32(t))
	}
	n := len(tk.span)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := w; c < len(tk.flat); c += workers {
				global, flat := globals[tk.voc[c]], tk.flat[c]
				for o := c * tk.chunk; o < min(n, (c+1)*tk.chunk); o++ {
					a := uint32(tk.span[o] >> 32)
					terms := flat[a : a+uint32(tk.span[o])]
					for k, id := range terms {
						terms[k] = global[id]
					}
					slices.Sort(terms)
					terms = slices.Compact(terms)
					tk.span[o] = uint64(a)<<32 | uint64(len(terms))
					var m meta
					for _, t := range terms {
						m.sig, m.sig2, m.sig4 = m.sig|tm[t].sig, m.sig2|tm[t].sig2, m.sig4|tm[t].sig4
					}
					x.meta[o] = m
				}
			}
		}()
	}
	wg.Wait()
}

// vocab is a tokenising worker's own table of the words it has seen:
// open addressing over (hash and length, word id) with the word's first 8
// bytes beside, so that a word of up to 8 bytes is found without reading
// the arena that holds every word's bytes.
type vocab struct {
	seed  maphash.Seed
	slots []vocabSlot
	arena []byte
	offs  []uint32 // word i is arena[offs[i]:offs[i+1]]
}

type vocabSlot struct {
	tag  uint64 // hash>>40 << 40 | min(len, 255) << 32 | id+1; 0 = empty
	head uint64 // the first 8 bytes, little-endian, zero-padded
}

func (v *vocab) init(seed maphash.Seed) {
	*v = vocab{seed: seed, slots: make([]vocabSlot, 1<<14), offs: []uint32{0}}
}

func (v *vocab) n() int { return len(v.offs) - 1 }

func (v *vocab) word(id uint32) []byte { return v.arena[v.offs[id]:v.offs[id+1]] }

func wordHead(w []byte) uint64 {
	if len(w) >= 8 {
		return binary.LittleEndian.Uint64(w)
	}
	h := uint64(0)
	for i, c := range w {
		h |= uint64(c) << (8 * i)
	}
	return h
}

// id returns the id of w, adding it when new.
func (v *vocab) id(w []byte) uint32 {
	h := maphash.Bytes(v.seed, w)
	tag := h>>40<<40 | uint64(min(len(w), 255))<<32
	head := wordHead(w)
	mask := uint64(len(v.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &v.slots[i]
		if s.tag == 0 {
			id := uint32(v.n())
			v.arena = append(v.arena, w...)
			v.offs = append(v.offs, uint32(len(v.arena)))
			*s = vocabSlot{tag: tag | uint64(id+1), head: head}
			if 2*v.n() > len(v.slots) {
				v.grow()
			}
			return id
		}
		if s.tag&^0xffffffff == tag && s.head == head && (len(w) <= 8 || bytes.Equal(v.word(uint32(s.tag)-1), w)) {
			return uint32(s.tag) - 1
		}
	}
}

func (v *vocab) grow() {
	slots := make([]vocabSlot, 2*len(v.slots))
	mask := uint64(len(slots) - 1)
	for _, s := range v.slots {
		if s.tag == 0 {
			continue
		}
		h := maphash.Bytes(v.seed, v.word(uint32(s.tag)-1))
		i := h & mask
		for slots[i].tag != 0 {
			i = (i + 1) & mask
		}
		slots[i] = s
	}
	v.slots = slots
}

// rankKey is what ranking compares of a record first.
type rankKey struct {
	score int64
	id8   uint64 // the first 8 bytes of the id, big-endian, zero-padded
	o     uint32
}

func rankKeyOf(r *record, id string, o int) rankKey {
	var b [8]byte
	copy(b[:], id)
	return rankKey{r.score, binary.BigEndian.Uint64(b[:]), uint32(o)}
}

// rankOrder returns the ordinals of recs, best first. Ties in score
// compare the first 8 bytes of the ids as an integer, and the ids
// themselves only when those are equal too. keys, when not nil, are the
// records' keys (sorted in place).
func rankOrder(recs []record, tx *texts, keys []rankKey) []uint32 {
	if keys == nil {
		keys = make([]rankKey, len(recs))
		for i := range recs {
			keys[i] = rankKeyOf(&recs[i], tx.id(&recs[i]), i)
		}
	}
	slices.SortFunc(keys, func(a, b rankKey) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		case a.id8 != b.id8:
			return cmp.Compare(a.id8, b.id8)
		}
		return strings.Compare(tx.id(&recs[a.o]), tx.id(&recs[b.o]))
	})
	order := make([]uint32, len(recs))
	for i, k := range keys {
		order[i] = k.o
	}
	return order
}
