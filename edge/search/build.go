package search

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// finishLoad turns a loaded index into a served one, consistent with seq:
// the terms sorted for prefix lookups, the sort buckets, the facet
// attributes chosen and their values made searchable.
//
// It returns how long each step took (a 1M-product load's are logged).
func (x *index) finishLoad(seq uint64) []stepTime {
	var steps []stepTime
	t := time.Now()
	step := func(name string) {
		steps = append(steps, stepTime{name, time.Since(t)})
		t = time.Now()
	}
	for o := range x.docs {
		if d := &x.docs[o]; d.live() {
			d.seq = seq
		}
	}
	step("seq")
	x.renumber()
	step("renumber")
	x.buildPostings()
	step("postings")
	x.sorted = make([]uint32, len(x.terms))
	for i := range x.sorted {
		x.sorted[i] = uint32(i)
	}
	slices.SortFunc(x.sorted, func(a, b uint32) int { return strings.Compare(x.terms[a].s, x.terms[b].s) })
	step("sort terms")
	x.trie = typoTrie{}
	for _, t := range x.sorted {
		x.trie.insert(x.terms[t].s, t)
	}
	step("typo trie")
	x.buildOrders()
	step("orders")
	x.foldValues()
	step("fold values")
	x.chooseFacets()
	step("facets")
	x.loading = false
	x.attrWords()
	step("attr words")
	x.rebuildPairs()
	step("pairs")
	for i := range x.terms {
		t := &x.terms[i]
		if t.fields() > 1 {
			t.any = union(t.post[:])
		}
		if b := t.all(); b != nil {
			t.df = int32(b.GetCardinality())
		}
		x.addAlpha(t.s)
	}
	step("df any alpha")
	x.buildHeavy()
	step("heavy")
	for id, c := range x.cats {
		if cur, ok := x.catSlugs[c.slug]; !ok || c.post.GetCardinality() > x.cats[cur].post.GetCardinality() {
			x.catSlugs[c.slug] = uint32(id)
		}
	}
	step("slugs")
	return steps
}

// stepTime is how long one step of finishLoad took.
type stepTime struct {
	name string
	d    time.Duration
}

// renumber gives the loaded products new, dense ordinals in catalog
// order (before their postings are built): by
// category (the tree's depth-first order), then brand, then popularity.
// A word's products then sit together (generated and real names draw
// their words from their category's), so its postings fill few roaring
// containers densely (bitmap or run containers, intersected a word at a
// time) instead of spreading thin over all (array containers, merged
// value by value). Index sorting, as Lucene calls it. No run containers:
// roaring unions a run container with an array one by inserting ranges
// into an array, which took 30 ms on one query at 1M products. Products added later by the feed take free or new ordinals.
func (x *index) renumber() {
	rank := x.nodeRanks()
	type key struct {
		cat   uint64 // node rank + 1 << 32 | brand
		score int64
		o     uint32
	}
	keys := make([]key, 0, x.live)
	for o := range x.docs {
		if d := &x.docs[o]; d.live() {
			k := key{cat: uint64(d.brand), score: d.score, o: uint32(o)}
			if d.leaf != 0 {
				k.cat |= uint64(rank[d.leaf-1]+1) << 32
			}
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.cat != b.cat {
			return cmp.Compare(a.cat, b.cat)
		}
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.o, b.o)
	})
	order := make([]uint32, len(keys))
	for i, k := range keys {
		order[i] = k.o
	}
	docs := make([]doc, len(order))
	lkOff := make([]uint32, len(order))
	lkN := make([]uint16, len(order))
	for n, o := range order {
		docs[n] = x.docs[o]
		if int(o) < len(x.lkOff) {
			lkOff[n], lkN[n] = x.lkOff[o], x.lkN[o]
		}
	}
	x.docs, x.free, x.lkOff, x.lkN = docs, nil, lkOff, lkN
	x.ids = newIDTable(len(docs), x.ids.seed)
	for o := range docs {
		x.insertID(x.idOf(uint32(o)), uint32(o))
	}
}

// buildPostings makes the postings of the loaded products (in ordinal
// order: each bitmap is appended to) from their stored state: title
// words (x.lk), category path, brand, attribute values, availability.
func (x *index) buildPostings() {
	title := make([][]uint32, len(x.terms))
	cat := make([][]uint32, len(x.terms))
	pairs := make([][]uint32, len(x.pairs))
	brands := make([][]uint32, len(x.brands))
	cats := make([][]uint32, len(x.cats))
	var in []uint32
	// Two passes at once: the words, and the rest.
	parallel(2, func(pass int) {
		var ids []uint32
		for i := range x.docs {
			o, d := uint32(i), &x.docs[i]
			if pass == 0 {
				for _, t := range x.lk[x.lkOff[o]:][:x.lkN[o]] {
					title[t] = append(title[t], o)
				}
				if d.leaf != 0 {
					for _, k := range x.nodes[d.leaf-1].terms {
						cat[k/nFields] = append(cat[k/nFields], o)
					}
				}
				continue
			}
			if d.leaf != 0 {
				n := &x.nodes[d.leaf-1]
				n.leafN++
				for _, c := range n.names {
					cats[c] = append(cats[c], o)
				}
			}
			if d.brand != 0 {
				brands[d.brand-1] = append(brands[d.brand-1], o)
			}
			if d.pairs != noPairs {
				ids, _ = readList(ids[:0], x.px.at(d.pairs))
				for _, p := range ids {
					pairs[p] = append(pairs[p], o)
				}
			}
			if d.band != bandOut {
				in = append(in, o)
			}
		}
	})
	x.lk, x.lkOff, x.lkN = nil, nil, nil
	of := func(l []uint32) *roaring.Bitmap {
		b := roaring.New()
		b.AddMany(l)
		return b
	}
	parallel(len(x.terms), func(t int) {
		if len(title[t]) > 0 {
			x.terms[t].post[fTitle] = of(title[t])
		}
		if len(cat[t]) > 0 {
			x.terms[t].post[fCat] = of(cat[t])
		}
	})
	for p := range pairs {
		x.pairs[p].post = of(pairs[p])
	}
	for b := range brands {
		x.brands[b].post = of(brands[b])
	}
	for c := range cats {
		x.cats[c].post = of(cats[c])
	}
	x.all = roaring.New()
	x.all.AddRange(0, uint64(len(x.docs)))
	x.inStock = of(in)
}

// nodeRanks returns each category node's place in a depth-first walk of
// the tree (children by name).
func (x *index) nodeRanks() []uint32 {
	rank := make([]uint32, len(x.nodes))
	next := uint32(0)
	var walk func(ids []uint32)
	walk = func(ids []uint32) {
		ids = slices.Clone(ids)
		slices.SortFunc(ids, func(a, b uint32) int {
			return strings.Compare(x.cats[x.nodes[a].name].name, x.cats[x.nodes[b].name].name)
		})
		for _, id := range ids {
			rank[id] = next
			next++
			walk(x.nodes[id].kids)
		}
	}
	var roots []uint32
	for id := range x.nodes {
		if x.nodes[id].parent < 0 {
			roots = append(roots, uint32(id))
		}
	}
	walk(roots)
	return rank
}

// parallel calls fn(0..n-1) on one goroutine per CPU.
func parallel(n int, fn func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// countCats counts the members of s by category name into names (one
// per category name; a product counts once for each name on its path),
// using nodes (one per node) as scratch. Both must be zero on entry;
// nodes is zero again on return.
func (x *index) countCats(s *roaring.Bitmap, nodes, names []int32, buf []uint32) {
	it := s.ManyIterator()
	for {
		n := it.NextMany(buf)
		if n == 0 {
			break
		}
		for _, o := range buf[:n] {
			if l := uint32(x.fk[o]>>32) & fkLeafMask; l != 0 {
				nodes[l-1]++
			}
		}
	}
	x.rollUp(nodes, names)
}

// rollUp turns per-node counts of leaves into per-name counts of paths,
// zeroing nodes.
func (x *index) rollUp(nodes, names []int32) {
	// A node's parent has a smaller id: children are summed first.
	for i := len(x.nodes) - 1; i >= 0; i-- {
		if p := x.nodes[i].parent; p >= 0 {
			nodes[p] += nodes[i]
		}
	}
	for c := range x.cats {
		sum := int32(0)
		for _, n := range x.cats[c].top {
			sum += nodes[n]
		}
		names[c] = sum
	}
	clear(nodes[:len(x.nodes)])
}

// chooseFacets picks the facet attributes: 2..AttrMaxValues values, and
// present on AttrMinShare of the products of the catalog or of a
// category with AttrMinProducts products or more. Each category keeps its
// AttrFacets most present ones; the others' values are dropped.
func (x *index) chooseFacets() {
	cfg := x.cfg
	total := float64(x.all.GetCardinality())
	catSize := make([]float64, len(x.cats))
	for c := range x.cats {
		catSize[c] = float64(x.cats[c].post.GetCardinality())
	}
	type share struct {
		attr uint32
		s    float64
	}
	perCat := make([][]share, len(x.cats))
	var root []share
	nodes := make([]int32, len(x.nodes))
	names := make([]int32, len(x.cats))
	buf := make([]uint32, 256)
	for id := range x.attrs {
		a := &x.attrs[id]
		var posts []*roaring.Bitmap
		for _, p := range a.values {
			if !x.pairs[p].post.IsEmpty() {
				posts = append(posts, x.pairs[p].post)
			}
		}
		if len(posts) < 2 || len(posts) > cfg.AttrMaxValues {
			continue
		}
		has := roaring.FastOr(posts...)
		n := float64(has.GetCardinality())
		a.share = n / total
		if total >= float64(cfg.AttrMinProducts) && a.share >= cfg.AttrMinShare {
			a.facet = true
			root = append(root, share{uint32(id), a.share})
		}
		x.countCats(has, nodes, names, buf)
		for c, k := range names {
			if catSize[c] >= float64(cfg.AttrMinProducts) && float64(k) >= cfg.AttrMinShare*catSize[c] {
				a.facet = true
				perCat[c] = append(perCat[c], share{uint32(id), float64(k) / catSize[c]})
			}
		}
	}
	top := func(ss []share) []uint32 {
		slices.SortFunc(ss, func(a, b share) int {
			if c := cmp.Compare(b.s, a.s); c != 0 {
				return c
			}
			return strings.Compare(x.attrs[a.attr].name, x.attrs[b.attr].name)
		})
		var out []uint32
		for _, s := range ss[:min(len(ss), cfg.AttrFacets)] {
			out = append(out, s.attr)
		}
		return out
	}
	x.rootAttr = top(root)
	for c := range x.cats {
		x.cats[c].attrs = top(perCat[c])
	}
	for id := range x.attrs {
		if a := &x.attrs[id]; !a.facet {
			for _, p := range a.values {
				x.pairs[p] = pair{attr: uint32(id)}
			}
			a.values = nil
		}
	}
}

// attrWords makes the words of the facet attributes' values searchable
// (field fAttr).
func (x *index) attrWords() {
	byTerm := map[uint32][]*roaring.Bitmap{}
	for p := range x.pairs {
		pr := &x.pairs[p]
		if pr.post == nil || !x.attrs[pr.attr].facet {
			continue
		}
		pr.words = x.valueWords(pr.value)
		for _, t := range pr.words {
			byTerm[t] = append(byTerm[t], pr.post)
		}
	}
	for t, posts := range byTerm {
		x.terms[t].post[fAttr] = roaring.FastOr(posts...)
	}
}

// foldValues merges the spellings of an attribute's values that differ
// only in case ("Yellow", "yellow": one facet value, one filter) into the
// pair of the spelling most products have (the byte-wise smaller one on
// a tie, so "Yellow" before "yellow"), and keys values by foldValue.
// Pairs no live product has are dropped. An attribute found to have more
// than AttrMaxValues folded values cannot be a facet (see chooseFacets):
// it is left as it is, which bounds the work on attributes such as EANs
// with a value per product.
func (x *index) foldValues() {
	x.merged = map[uint32]uint32{}
	groups := map[string][]uint32{}
	for id := range x.attrs {
		a := &x.attrs[id]
		clear(groups)
		many := false
		for v, p := range a.values {
			if x.pairs[p].post.IsEmpty() {
				continue
			}
			k := foldValue(v)
			if _, ok := groups[k]; !ok && len(groups) == x.cfg.AttrMaxValues {
				many = true
				break
			}
			groups[k] = append(groups[k], p)
		}
		if many {
			continue
		}
		values := make(map[string]uint32, len(groups))
		for k, ps := range groups {
			win := ps[0]
			for _, p := range ps[1:] {
				cw, cp := x.pairs[win].post.GetCardinality(), x.pairs[p].post.GetCardinality()
				if cp > cw || cp == cw && x.pairs[p].value < x.pairs[win].value {
					win = p
				}
			}
			if len(ps) > 1 {
				var posts []*roaring.Bitmap
				for _, p := range ps {
					posts = append(posts, x.pairs[p].post)
				}
				x.pairs[win].post = roaring.FastOr(posts...)
				for _, p := range ps {
					if p != win {
						x.pairs[p] = pair{attr: uint32(id)}
						x.merged[p] = win
					}
				}
			}
			if k == x.pairs[win].value {
				k = x.pairs[win].value // share the pair's string
			}
			values[k] = win
		}
		for _, p := range a.values {
			if x.pairs[p].post != nil && x.pairs[p].post.IsEmpty() {
				x.pairs[p] = pair{attr: uint32(id)}
			}
		}
		a.values = values
	}
}

// rebuildPairs keeps the facet attributes' values only in the products'
// pair lists, each value folded into the pair foldValues chose.
func (x *index) rebuildPairs() {
	var np arena
	var ids []uint32
	for o := range x.docs {
		d := &x.docs[o]
		if !d.live() || d.pairs == noPairs {
			continue
		}
		ids, _ = readList(ids[:0], x.px.at(d.pairs))
		kept := ids[:0]
		for _, p := range ids {
			if to, ok := x.merged[p]; ok {
				p = to
			}
			if x.pairs[p].post != nil {
				kept = append(kept, p)
			}
		}
		if len(x.merged) > 0 {
			slices.Sort(kept)
			kept = slices.Compact(kept)
		}
		d.pairs = noPairs
		if len(kept) > 0 {
			x.buf = appendList(x.buf[:0], kept)
			d.pairs = np.add(x.buf)
		}
	}
	x.px = np
	x.merged = nil
}
