package suggest

import (
	"cmp"
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// build indexes recs from scratch, reordering them in place so that
// ordinals start in rank order. Of records with the same id the last
// wins.
//
// Tokenising runs on every core (each worker interns words in its own
// vocabulary, merged into the index's afterwards), ranking, categories
// and the id map on other goroutines meanwhile. With ordinals in rank
// order, postings fill in one sequential pass and come out sorted, prefix
// counts and lists follow from the postings (prefixes split among
// workers), and the best products of every list sit together in memory.
func build(cfg *Config, recs []record) *index {
	x := newIndex(cfg, len(recs))
	orderc := make(chan []uint32, 1)
	go func() { orderc <- rankOrder(recs) }()
	idsc := make(chan map[string]uint32, 1)
	go func() { idsc <- idsOf(recs) }()
	catsDone := make(chan struct{})
	go func() {
		for o := range recs {
			recs[o].cat = x.category(&recs[o])
		}
		close(catsDone)
	}()
	x.meta = make([]meta, len(recs))
	workers := buildWorkers(len(recs))
	x.tokenise(recs, workers)
	order := <-orderc
	<-catsDone
	ids := <-idsc
	if len(ids) < len(recs) {
		// Repeated ids: drop the shadowed records (rare: a snapshot lists
		// a product once).
		kept := 0
		for o := range recs {
			if ids[recs[o].field(fID)] == uint32(o) {
				recs[kept], x.meta[kept] = recs[o], x.meta[o]
				kept++
			}
		}
		clear(recs[kept:])
		recs, x.meta = recs[:kept], x.meta[:kept]
		order, ids = rankOrder(recs), nil
	}
	x.recs, x.live = recs, len(recs)
	if ids != nil {
		go func() { idsc <- renumber(ids, order) }()
	}
	permute(recs, x.meta, order)
	if ids == nil {
		go func() { idsc <- idsOf(recs) }()
	}
	for o := range recs {
		x.meta[o].cat = recs[o].cat
	}
	x.fillPostings()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.fillPrefixes(w, workers)
		}()
	}
	wg.Wait()
	x.ids = <-idsc
	x.mark = make([]uint32, len(recs))
	return x
}

// renumber rewrites positions in ids to ranks: order lists positions in
// rank order.
func renumber(ids map[string]uint32, order []uint32) map[string]uint32 {
	rank := make([]uint32, len(order))
	for i, o := range order {
		rank[o] = uint32(i)
	}
	for id, o := range ids {
		ids[id] = rank[o]
	}
	return ids
}

// idsOf maps the records' ids to their positions (the last of a repeated
// id).
func idsOf(recs []record) map[string]uint32 {
	ids := make(map[string]uint32, len(recs))
	for o := range recs {
		ids[recs[o].field(fID)] = uint32(o)
	}
	return ids
}

// permute moves recs[order[i]] (and its meta) to position i, in place,
// one cycle of the permutation at a time.
func permute(recs []record, sigs []meta, order []uint32) {
	done := make([]bool, len(recs))
	for i := range recs {
		if done[i] {
			continue
		}
		tmp, tmpSig := recs[i], sigs[i]
		for j := i; ; {
			done[j] = true
			k := int(order[j])
			if k == i {
				recs[j], sigs[j] = tmp, tmpSig
				break
			}
			recs[j], sigs[j] = recs[k], sigs[k]
			j = k
		}
	}
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

// fillPostings lists every term's products in ordinal order (rank order
// while building), carved from one arena sized by a counting pass.
func (x *index) fillPostings() {
	postLen := make([]uint32, len(x.termHash))
	total := 0
	for o := range x.recs {
		total += len(x.recs[o].terms)
		for _, t := range x.recs[o].terms {
			postLen[t]++
		}
	}
	posts := make([]uint32, total)
	for t, n := range postLen {
		x.termPost[t], posts = posts[:0:n], posts[n:]
	}
	for o := range x.recs {
		for _, t := range x.recs[o].terms {
			x.termPost[t] = append(x.termPost[t], uint32(o))
		}
	}
}

// fillPrefixes sets the count and the list of every prefix p with
// p%workers == w from the postings of its terms, which are in rank order
// while building: a prefix of one term takes its postings' head; a prefix
// of several counts their union with a mark per product and keeps the
// best depth of it, of which each term can only offer its first depth.
func (x *index) fillPrefixes(w, workers int) {
	var mark []uint32 // prefix id + 1 that last counted the product
	var best []uint32 // ordinals, ascending: best first
	for p := w; p < len(x.pfxHash); p += workers {
		terms := x.pfxTerms[p]
		if len(terms) == 1 {
			post := x.termPost[terms[0]]
			x.pfxCount[p] = uint32(len(post))
			x.pfxList[p] = x.entries(post[:min(len(post), x.depth)])
			continue
		}
		if mark == nil {
			mark = make([]uint32, len(x.recs))
		}
		count := uint32(0)
		best = best[:0]
		for _, t := range terms {
			for i, o := range x.termPost[t] {
				if mark[o] == uint32(p)+1 {
					continue
				}
				mark[o] = uint32(p) + 1
				count++
				if i >= x.depth || len(best) == x.depth && o > best[len(best)-1] {
					continue
				}
				j, _ := slices.BinarySearch(best, o)
				if len(best) == x.depth {
					best = best[:len(best)-1]
				}
				best = slices.Insert(best, j, o)
			}
		}
		x.pfxCount[p] = count
		x.pfxList[p] = x.entries(best)
	}
}

// tokenise sets the terms and signature of every record, splitting recs
// among workers that each intern words into a vocabulary of their own;
// the vocabularies are then merged into the index (one intern per
// distinct word and worker) and the records' local ids translated.
func (x *index) tokenise(recs []record, workers int) {
	type vocab struct {
		ids   map[string]uint32
		words []string
		flat  []uint32
	}
	vs := make([]vocab, workers)
	chunk := (len(recs) + workers - 1) / workers
	span := func(w int) []record { return recs[min(len(recs), w*chunk):min(len(recs), (w+1)*chunk)] }
	var wg sync.WaitGroup
	for w := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := &vs[w]
			part := span(w)
			v.ids = map[string]uint32{}
			v.flat = make([]uint32, 0, 12*len(part))
			norm := NewNormalizer()
			// Brands and categories repeat: their words are looked up
			// once per distinct text.
			seen := map[string][2]uint32{} // text → its ids in v.flat
			for i := range part {
				r := &part[i]
				start := len(v.flat)
				for _, f := range [...]int{fName, fBrand, fCategory} {
					text := r.field(f)
					if f != fName {
						if span, ok := seen[text]; ok {
							v.flat = append(v.flat, v.flat[span[0]:span[1]]...)
							continue
						}
					}
					from := len(v.flat)
					if norm.Normalize(text) != nil {
						continue // strings from JSON are valid UTF-8
					}
					for k := range norm.Words {
						word := norm.Word(k)
						id, ok := v.ids[b2s(word)]
						if !ok {
							id = uint32(len(v.words))
							v.words = append(v.words, string(word))
							v.ids[v.words[id]] = id
						}
						v.flat = append(v.flat, id)
					}
					if f != fName && len(seen) < maxSeenTexts {
						seen[text] = [2]uint32{uint32(from), uint32(len(v.flat))}
					}
				}
				r.terms = v.flat[start:len(v.flat):len(v.flat)]
			}
		}()
	}
	wg.Wait()
	// Terms are interned in lexicographic order, so that the terms with
	// any prefix have consecutive ids (see termRanges).
	var all []string
	for w := range vs {
		all = append(all, vs[w].words...)
	}
	slices.Sort(all)
	for _, word := range slices.Compact(all) {
		x.term(s2b(word))
	}
	globals := make([][]uint32, workers)
	for w := range vs {
		v := &vs[w]
		globals[w] = make([]uint32, len(v.words))
		for i, word := range v.words {
			globals[w][i], _ = x.findTerm(s2b(word), x.hash(s2b(word)))
		}
		v.ids, v.words = nil, nil
	}
	x.termRanges()
	for w := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			global, part := globals[w], span(w)
			for i := range part {
				r := &part[i]
				for k, id := range r.terms {
					r.terms[k] = global[id]
				}
				slices.Sort(r.terms)
				r.terms = slices.Clip(slices.Compact(r.terms))
				x.meta[w*chunk+i] = x.metaOf(r.terms, 0)
			}
		}()
	}
	wg.Wait()
}

// rankOrder returns the ordinals of recs, best first. Ties in score
// compare the first 8 bytes of the ids as an integer, and the ids
// themselves only when those are equal too.
func rankOrder(recs []record) []uint32 {
	type key struct {
		score int64
		id8   uint64
		o     uint32
	}
	keys := make([]key, len(recs))
	for i := range recs {
		var b [8]byte
		copy(b[:], recs[i].field(fID))
		keys[i] = key{recs[i].score, binary.BigEndian.Uint64(b[:]), uint32(i)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		case a.id8 != b.id8:
			return cmp.Compare(a.id8, b.id8)
		}
		return strings.Compare(recs[a.o].field(fID), recs[b.o].field(fID))
	})
	order := make([]uint32, len(recs))
	for i, k := range keys {
		order[i] = k.o
	}
	return order
}
