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
// best first (score descending, then id ascending), each entry carrying
// the product's category; meta[o] is metaOf product o's terms; termPost[t]
// holds every live product with term t, by ordinal (rank order after a
// build); terms below sortedTerms have ids in lexicographic order.
type index struct {
	mu        sync.RWMutex
	cfg       *Config
	maxPrefix int
	depth     int
	seed      maphash.Seed

	recs []record
	tx   *texts            // the records' strings
	ids  idTable           // product id → ordinal
	dead map[string]uint64 // deleted product id → sequence of the delete
	free []uint32          // ordinals of deleted products, reused
	live int
	meta []meta // per ordinal: the signatures of its terms
	// compactMin is the garbage in x.tx below which compactTexts waits.
	compactMin int

	termArena  []byte
	termOff    []uint32 // term t is termArena[termOff[t]:termOff[t+1]]
	termHash   []uint32
	termSlots  slots
	termPost   [][]byte // see postings.go
	termCount  []uint32
	termDelta  map[uint32]*postDelta
	deltaMin   int      // see mergePostings
	termPfx    []uint32 // prefix ids of every term, shortest first
	termPfxOff []uint32 // end of term t's prefixes in termPfx

	pfxTerm     []uint32 // the prefix is termStr(pfxTerm)[:pfxLen]
	pfxLen      []uint8
	pfxHash     []uint32
	pfxSlots    slots
	pfxList     [][]entry
	pfxCount    []uint32
	pfxTerms    [][]uint32 // terms with the prefix
	pfxKids     []uint64   // kidBit of every character that extends the prefix
	pfxLo       []uint32   // terms [pfxLo, pfxHi) below sortedTerms have the prefix
	pfxHi       []uint32
	sortedTerms uint32    // terms interned by build, in lexicographic order
	edges       edges     // prefix trie: (parent, character) → child
	typos       typoCache // corrections of recent words without a match
	rootKids    uint64    // kidBit of every first character

	// writer scratch
	norm    *Normalizer
	seen    []uint64 // a bit per ordinal, all clear between uses
	termB   []uint32
	termC   []uint32
	bufPost []uint32
	bufA    []uint32
	bufB    []uint32
}

func newIndex(cfg *Config) *index {
	return &index{
		cfg:        cfg,
		maxPrefix:  cfg.MaxPrefixLen,
		depth:      cfg.Depth,
		seed:       maphash.MakeSeed(),
		tx:         newTexts(),
		compactMin: 1 << 20,
		ids:        newIDTable(0),
		dead:       map[string]uint64{},
		termDelta:  map[uint32]*postDelta{},
		deltaMin:   16,
		termOff:    []uint32{0},
		termSlots:  newSlots(0),
		pfxSlots:   newSlots(0),
		norm:       NewNormalizer(),
	}
}

// better reports whether product a ranks above product b.
func (x *index) better(a, b uint32) bool {
	ra, rb := &x.recs[a], &x.recs[b]
	if ra.score != rb.score {
		return ra.score > rb.score
	}
	return x.tx.id(ra) < x.tx.id(rb)
}

// termsOf interns the words of p's name and brand (and category, with
// Config.CategoryWords) and returns
// their distinct ids, ascending, appended to dst.
func (x *index) termsOf(p *product, dst []uint32) []uint32 {
	start := len(dst)
	for i, text := range [...]string{p.text[fName], p.text[fBrand], p.leaf} {
		if i == 2 && !x.cfg.CategoryWords {
			continue
		}
		if err := x.norm.Normalize(text); err != nil {
			continue // strings from JSON are valid UTF-8
		}
		for i := range x.norm.Words {
			dst = append(dst, x.term(x.norm.Word(i)))
		}
	}
	slices.Sort(dst[start:])
	return dst[:start+len(slices.Compact(dst[start:]))]
}

// terms appends the term ids of product o, ascending, to dst.
func (x *index) terms(o uint32, dst []uint32) []uint32 {
	return decodeTerms(readBlobTerms(x.tx.blobs, x.recs[o].off), dst)
}

// hasPrefix reports whether term t has prefix p of the given characters.
func (x *index) hasPrefix(t, p uint32, chars int) bool {
	if t < x.sortedTerms {
		return x.pfxLo[p] <= t && t < x.pfxHi[p]
	}
	tp := x.termPrefixes(t)
	return len(tp) >= chars && tp[chars-1] == p
}

// entry is one product of a prefix list with its category, so that
// counting the categories of a list reads the list alone.
type entry struct {
	o   uint32
	cat uint32 // category id + 1; 0 when the product has none
}

// entryOf returns product o's list entry.
func (x *index) entryOf(o uint32) entry { return entry{o: o, cat: x.recs[o].cat} }

func (x *index) entries(os []uint32) []entry {
	l := make([]entry, len(os))
	for i, o := range os {
		l[i] = x.entryOf(o)
	}
	return l
}

// meta is what lookups read first of every candidate product, kept dense
// (24 bytes per ordinal) and apart from the records: most candidates of a
// multi-word query fail on it, without their terms being read.
type meta struct {
	sig  uint64 // see metaOf
	sig2 uint64 // a hashed bit per 2-character prefix of its terms
	sig4 uint64 // a hashed bit per 4-character prefix of its terms
}

// metaOf returns a product's signatures: the kidBit of the first
// character of each of its terms (sig bits 0-35), a hashed bit per
// 3-character prefix (sig bits 36-63), one per 2-character prefix (sig2)
// and one per 4-character prefix (sig4). A query word whose bits are not
// all set cannot match, which
// spares reading the product's terms; a one-character word of
// typoAlphabet is decided by its bit alone.
func (x *index) metaOf(terms []uint32) meta {
	var m meta
	for _, t := range terms {
		tm := x.termMeta(t)
		m.sig, m.sig2, m.sig4 = m.sig|tm.sig, m.sig2|tm.sig2, m.sig4|tm.sig4
	}
	return m
}

// termMeta returns the signatures of a product with term t alone.
func (x *index) termMeta(t uint32) meta {
	var m meta
	tp := x.termPrefixes(t)
	if len(tp) >= 2 {
		m.sig2 = sig2Bit(tp[1])
	}
	if len(tp) >= 3 {
		m.sig = sigBit(tp[2])
	}
	if len(tp) >= 4 {
		m.sig4 = sig4Bit(tp[3])
	}
	if s := x.termStr(t); s != "" {
		m.sig |= kidBit(s[0])
	}
	return m
}

// sig4Bit returns the signature bit of a 4-character prefix.
func sig4Bit(p uint32) uint64 { return 1 << ((p * 0x85EBCA77) >> 26) }

// sig2Bit returns the signature bit of a 2-character prefix.
func sig2Bit(p uint32) uint64 { return 1 << ((p * 0x9E3779B1) >> 26) }

// sigBit returns the signature bit of a 3-character prefix.
func sigBit(p uint32) uint64 { return 1 << (36 + ((p*0x9E3779B1)>>16)%28) }
