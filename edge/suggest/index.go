package suggest

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
)

// index is the prefix index over one snapshot and the events applied
// since. Readers hold mu.RLock; the change feed's writer holds mu.Lock.
//
// Invariants: pfxCount[p] is the number of live products with a word that
// has prefix p; pfxList[p] holds the best min(pfxCount[p], depth) of them,
// best first (score descending, then id ascending); termPost[t] holds every
// live product with term t (in no particular order).
type index struct {
	mu        sync.RWMutex
	cfg       *Config
	maxPrefix int
	depth     int
	seed      maphash.Seed

	recs []record
	sigs []uint64          // per ordinal: sigOf its terms (dense, for cache-friendly filtering)
	ids  map[string]uint32 // product id → ordinal
	dead map[string]uint64 // deleted product id → sequence of the delete
	free []uint32          // ordinals of deleted products, reused
	live int

	cats   []string          // category id → name
	catIDs map[string]uint32 // category name → id

	termArena  []byte
	termOff    []uint32 // term t is termArena[termOff[t]:termOff[t+1]]
	termHash   []uint32
	termSlots  slots
	termPost   [][]uint32
	termPfx    []uint32 // prefix ids of every term, shortest first
	termPfxOff []uint32 // end of term t's prefixes in termPfx

	pfxTerm  []uint32 // the prefix is termStr(pfxTerm)[:pfxLen]
	pfxLen   []uint8
	pfxHash  []uint32
	pfxSlots slots
	pfxList  [][]uint32
	pfxCount []uint32
	pfxTerms [][]uint32 // terms with the prefix
	pfxKids  []uint64   // kidBit of every character that extends the prefix
	edges    edges      // prefix trie: (parent, character) → child
	rootKids uint64     // kidBit of every first character

	// writer scratch
	norm  *Normalizer
	mark  []uint32
	epoch uint32
	bufA  []uint32
	bufB  []uint32
	cand  []uint32
}

func newIndex(cfg *Config, n int) *index {
	return &index{
		cfg:       cfg,
		maxPrefix: cfg.MaxPrefixLen,
		depth:     cfg.Depth,
		seed:      maphash.MakeSeed(),
		ids:       make(map[string]uint32, n),
		dead:      map[string]uint64{},
		catIDs:    map[string]uint32{},
		termOff:   []uint32{0},
		termSlots: newSlots(n),
		pfxSlots:  newSlots(4 * n),
		norm:      NewNormalizer(),
	}
}

// better reports whether product a ranks above product b.
func (x *index) better(a, b uint32) bool {
	ra, rb := &x.recs[a], &x.recs[b]
	if ra.score != rb.score {
		return ra.score > rb.score
	}
	return ra.field(fID) < rb.field(fID)
}

// termsOf interns the words of r's name, brand and category and returns
// their distinct ids, ascending, appended to dst.
func (x *index) termsOf(r *record, dst []uint32) []uint32 {
	start := len(dst)
	for _, f := range [...]int{fName, fBrand, fCategory} {
		if err := x.norm.Normalize(r.field(f)); err != nil {
			continue // strings from JSON are valid UTF-8
		}
		for i := range x.norm.Words {
			dst = append(dst, x.term(x.norm.Word(i)))
		}
	}
	slices.Sort(dst[start:])
	return dst[:start+len(slices.Compact(dst[start:]))]
}

func (x *index) category(r *record) uint32 {
	name := r.field(fCategory)
	if name == "" {
		return 0
	}
	id, ok := x.catIDs[name]
	if !ok {
		id = uint32(len(x.cats))
		x.cats = append(x.cats, name)
		x.catIDs[name] = id
	}
	return id + 1
}

// build indexes recs (live records with distinct ids) from scratch.
func build(cfg *Config, recs []record) *index {
	x := newIndex(cfg, len(recs))
	x.recs = recs
	x.sigs = make([]uint64, len(recs))
	x.live = len(recs)
	// Ranking needs only scores and ids: sort on another core meanwhile.
	orderc := make(chan []uint32, 1)
	go func() { orderc <- rankOrder(recs) }()
	flat := make([]uint32, 0, 16*len(recs))
	for o := range recs {
		r := &recs[o]
		x.ids[r.field(fID)] = uint32(o)
		r.cat = x.category(r)
		start := len(flat)
		flat = x.termsOf(r, flat)
		r.terms = flat[start:len(flat):len(flat)]
		x.sigs[o] = x.sigOf(r.terms)
	}
	order := <-orderc
	// Postings are carved from one arena sized by a counting pass.
	postLen := make([]uint32, len(x.termHash))
	for o := range recs {
		for _, t := range recs[o].terms {
			postLen[t]++
		}
	}
	posts := make([]uint32, len(flat))
	for t, n := range postLen {
		x.termPost[t], posts = posts[:0:n], posts[n:]
	}
	// One pass in rank order: every list is born sorted and exact, and
	// postings come out best first. full keeps the hot check in cache.
	last := make([]uint32, len(x.pfxHash))
	full := make([]bool, len(x.pfxHash))
	for _, o := range order {
		for _, t := range recs[o].terms {
			x.termPost[t] = append(x.termPost[t], o)
			for _, p := range x.termPrefixes(t) {
				if last[p] == o+1 {
					continue
				}
				last[p] = o + 1
				x.pfxCount[p]++
				if !full[p] {
					l := append(x.pfxList[p], o)
					x.pfxList[p] = l
					full[p] = len(l) == x.depth
				}
			}
		}
	}
	x.mark = make([]uint32, len(recs))
	return x
}

// rankOrder returns the ordinals of recs, best first.
func rankOrder(recs []record) []uint32 {
	type key struct {
		score int64
		o     uint32
	}
	keys := make([]key, len(recs))
	for i := range recs {
		keys[i] = key{recs[i].score, uint32(i)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return strings.Compare(recs[a.o].field(fID), recs[b.o].field(fID))
	})
	order := make([]uint32, len(recs))
	for i, k := range keys {
		order[i] = k.o
	}
	return order
}

// sigOf returns a product's signature: a bit per 3-character prefix of
// its terms. A query word of 3 or more characters whose bit is missing
// cannot match, which spares reading the product's terms.
func (x *index) sigOf(terms []uint32) uint64 {
	var sig uint64
	for _, t := range terms {
		if tp := x.termPrefixes(t); len(tp) >= 3 {
			sig |= sigBit(tp[2])
		}
	}
	return sig
}

func sigBit(p uint32) uint64 { return 1 << ((p * 0x9E3779B1) >> 26) }
