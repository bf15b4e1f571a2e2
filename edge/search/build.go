package search

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
)

// finishLoad turns a loaded index into a served one, consistent with seq:
// the terms sorted for prefix lookups, the sort buckets, the facet
// attributes chosen and their values made searchable.
func (x *index) finishLoad(seq uint64) {
	for o := range x.docs {
		if d := &x.docs[o]; d.live() {
			d.seq = seq
		}
	}
	x.renumber()
	x.sorted = make([]uint32, len(x.terms))
	for i := range x.sorted {
		x.sorted[i] = uint32(i)
	}
	slices.SortFunc(x.sorted, func(a, b uint32) int { return strings.Compare(x.terms[a].s, x.terms[b].s) })
	x.buildOrders()
	x.chooseFacets()
	x.loading = false
	x.attrWords()
	x.rebuildPairs()
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
	x.buildHeavy()
	for id, c := range x.cats {
		if cur, ok := x.catSlugs[c.slug]; !ok || c.post.GetCardinality() > x.cats[cur].post.GetCardinality() {
			x.catSlugs[c.slug] = uint32(id)
		}
	}
}

// renumber gives the loaded products new ordinals in catalog order: by
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
	order := make([]uint32, 0, x.live)
	for o := range x.docs {
		if x.docs[o].live() {
			order = append(order, uint32(o))
		}
	}
	key := func(o uint32) (uint32, uint32, int64) {
		d := &x.docs[o]
		r := uint32(0)
		if d.leaf != 0 {
			r = rank[d.leaf-1] + 1
		}
		return r, d.brand, d.score
	}
	slices.SortFunc(order, func(a, b uint32) int {
		ra, ba, sa := key(a)
		rb, bb, sb := key(b)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		if ba != bb {
			return cmp.Compare(ba, bb)
		}
		if sa != sb {
			return cmp.Compare(sb, sa)
		}
		return cmp.Compare(a, b)
	})
	perm := make([]uint32, len(x.docs)) // old → new
	docs := make([]doc, len(order))
	for n, o := range order {
		perm[o] = uint32(n)
		docs[n] = x.docs[o]
	}
	x.docs, x.free = docs, nil
	x.ids = newIDTable(len(docs), x.ids.seed)
	for o := range docs {
		x.insertID(x.idOf(uint32(o)), uint32(o))
	}
	var bms []**roaring.Bitmap
	for i := range x.terms {
		for f := range x.terms[i].post {
			if x.terms[i].post[f] != nil {
				bms = append(bms, &x.terms[i].post[f])
			}
		}
	}
	for i := range x.cats {
		bms = append(bms, &x.cats[i].post)
	}
	for i := range x.brands {
		bms = append(bms, &x.brands[i].post)
	}
	for i := range x.pairs {
		if x.pairs[i].post != nil {
			bms = append(bms, &x.pairs[i].post)
		}
	}
	bms = append(bms, &x.all, &x.inStock)
	parallel(len(bms), func(i int) {
		arr := (*bms[i]).ToArray()
		for k, o := range arr {
			arr[k] = perm[o]
		}
		slices.Sort(arr)
		b := roaring.New()
		b.AddMany(arr)
		*bms[i] = b
	})
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

// rebuildPairs keeps the facet attributes' values only in the products'
// pair lists.
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
			if x.pairs[p].post != nil {
				kept = append(kept, p)
			}
		}
		d.pairs = noPairs
		if len(kept) > 0 {
			x.buf = appendList(x.buf[:0], kept)
			d.pairs = np.add(x.buf)
		}
	}
	x.px = np
}
