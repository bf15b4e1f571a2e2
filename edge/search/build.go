package search

import (
	"cmp"
	"slices"
	"strings"

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
	// x.optimize()
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

// optimize compresses runs in the postings (products loaded in catalog
// order sit together by category and brand).
func (x *index) optimize() {
	for i := range x.terms {
		for _, b := range x.terms[i].post {
			if b != nil {
				b.RunOptimize()
			}
		}
	}
	for i := range x.cats {
		x.cats[i].post.RunOptimize()
	}
	for i := range x.brands {
		x.brands[i].post.RunOptimize()
	}
	for i := range x.pairs {
		if b := x.pairs[i].post; b != nil {
			b.RunOptimize()
		}
	}
	for _, b := range [...]*roaring.Bitmap{x.all, x.inStock, x.priced} {
		b.RunOptimize()
	}
}
