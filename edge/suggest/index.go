package suggest

import (
	"hash/maphash"
	"slices"
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
	x.live = len(recs)
	flat := make([]uint32, 0, 16*len(recs))
	for o := range recs {
		r := &recs[o]
		x.ids[r.field(fID)] = uint32(o)
		r.cat = x.category(r)
		start := len(flat)
		flat = x.termsOf(r, flat)
		r.terms = flat[start:len(flat):len(flat)]
	}
	order := make([]uint32, len(recs))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		if x.better(a, b) {
			return -1
		}
		if x.better(b, a) {
			return 1
		}
		return 0
	})
	// Count first, then fill lists and postings from flat arenas in rank
	// order, so every list is born sorted and exact.
	last := make([]uint32, len(x.pfxHash))
	postLen := make([]uint32, len(x.termHash))
	for _, o := range order {
		for _, t := range recs[o].terms {
			postLen[t]++
			for _, p := range x.termPrefixes(t) {
				if last[p] != o+1 {
					last[p] = o + 1
					x.pfxCount[p]++
				}
			}
		}
	}
	total := 0
	for p := range x.pfxCount {
		total += min(int(x.pfxCount[p]), x.depth)
	}
	lists := make([]uint32, total)
	for p := range x.pfxCount {
		n := min(int(x.pfxCount[p]), x.depth)
		x.pfxList[p], lists = lists[:0:n], lists[n:]
	}
	posts := make([]uint32, len(flat))
	for t, n := range postLen {
		x.termPost[t], posts = posts[:0:n], posts[n:]
	}
	clear(last)
	for _, o := range order {
		for _, t := range recs[o].terms {
			x.termPost[t] = append(x.termPost[t], o)
			for _, p := range x.termPrefixes(t) {
				if last[p] != o+1 {
					last[p] = o + 1
					if len(x.pfxList[p]) < x.depth {
						x.pfxList[p] = append(x.pfxList[p], o)
					}
				}
			}
		}
	}
	x.mark = make([]uint32, len(recs))
	return x
}
