package search

import (
	"cmp"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"

	"shopedge/core/api"
	"shopedge/edge/textnorm"
)

// state is one search's scratch space, pooled by the Service.
type state struct {
	q      *textnorm.Normalizer
	name   *textnorm.Normalizer
	words  []string
	ws     []wordSet
	nodes  []int32
	names  []int32
	brands []int32
	prices [32]int32
	buf    []uint32
	order  []int
	est    []uint64
	parts  []*roaring.Bitmap
	pg     pager
	key    []byte
	val    []byte
	args   queryArgs        // the request's parameters (see parseArgs)
	facet  []api.FacetValue // topValues' scratch
	text   []byte           // page's scratch: the products' URLs and images
	spans  [][2]int         // page's scratch: their spans in text
	hl     [][2]int         // product's scratch
	it     roaring.ManyIntIterator
}

func newState() *state {
	return &state{q: textnorm.NewNormalizer(), name: textnorm.NewNormalizer(), buf: make([]uint32, 256)}
}

// grow sizes the counters for x.
func (st *state) grow(x *index) {
	if len(st.nodes) < len(x.nodes)+1 {
		st.nodes = make([]int32, len(x.nodes)+len(x.nodes)/4+1)
	}
	if len(st.names) < len(x.cats) {
		st.names = make([]int32, len(x.cats)+len(x.cats)/4+1)
	}
	if len(st.brands) < len(x.brands)+1 {
		st.brands = make([]int32, len(x.brands)+len(x.brands)/4+1)
	}
}

// filter is one facet's selection: the products it lets through.
type filter struct {
	kind int // facetCat, facetBrand, facetPrice, facetAttr
	attr uint32
	set  *roaring.Bitmap
}

const (
	facetCat = iota
	facetBrand
	facetPrice
	facetAttr
)

// search answers p (validated) from x; the caller holds x.mu.RLock. The
// answer's names and ids point into x's arena (never rewritten).
func (x *index) search(p *api.SearchParams, st *state) *api.SearchResult {
	st.grow(x)
	// The text: every word must match.
	st.words = st.words[:0]
	if st.q.Normalize(p.Query) == nil {
		for i := range st.q.Words {
			// The words point into st.q's buffer, rewritten only by
			// the next search with st (the typo cache copies its keys).
			st.words = append(st.words, b2s(st.q.Word(i)))
		}
	}
	if cap(st.ws) < len(st.words) {
		st.ws = make([]wordSet, len(st.words))
	}
	ws := st.ws[:len(st.words)]
	var m *roaring.Bitmap
	switch {
	case len(ws) == 0:
		m = x.all
	case !x.words(ws, st.words):
		m = roaring.New()
	default:
		m = x.matchAll(ws, st)
	}
	if p.InStock {
		m = roaring.And(m, x.inStock)
	}
	// The facets' selections.
	var fs []filter
	if len(p.Categories) > 0 {
		fs = append(fs, filter{kind: facetCat, set: x.union(p.Categories, x.catPost)})
	}
	if len(p.Brands) > 0 {
		fs = append(fs, filter{kind: facetBrand, set: x.union(p.Brands, x.brandPost)})
	}
	if p.PriceMin > 0 || p.PriceMax > 0 {
		fs = append(fs, filter{kind: facetPrice, set: x.priceRange(p.PriceMin, p.PriceMax)})
	}
	for _, name := range sortedKeys(p.Attributes) {
		id, ok := x.attrIDs[name]
		if !ok || !x.attrs[id].facet {
			fs = append(fs, filter{kind: facetAttr, attr: noAttr, set: roaring.New()})
			continue
		}
		a := &x.attrs[id]
		fs = append(fs, filter{kind: facetAttr, attr: id, set: x.union(p.Attributes[name], func(v string) *roaring.Bitmap {
			if pid, ok := a.values[foldValue(v)]; ok {
				return x.pairs[pid].post
			}
			return nil
		})})
	}
	// Each facet counts without its own selection.
	base := func(skip int) *roaring.Bitmap {
		parts := []*roaring.Bitmap{m}
		for i := range fs {
			if i != skip {
				parts = append(parts, fs[i].set)
			}
		}
		if len(parts) == 1 {
			return m
		}
		slices.SortFunc(parts, func(a, b *roaring.Bitmap) int { return cmp.Compare(a.GetCardinality(), b.GetCardinality()) })
		return roaring.FastAnd(parts...)
	}
	r := base(-1)
	own := func(kind int, attr uint32) int {
		for i := range fs {
			if fs[i].kind == kind && fs[i].attr == attr {
				return i
			}
		}
		return -1
	}
	out := &api.SearchResult{Query: p.Query, Total: int(r.GetCardinality()), Page: p.Page, PerPage: p.PerPage}
	x.facets(out, p, st, r, fs, base, own)
	x.page(out, p, st, r, ws)
	return out
}

const noAttr = ^uint32(0)

// union returns the union of the sets of values (nil sets skipped), in a
// new bitmap.
func (x *index) union(values []string, set func(string) *roaring.Bitmap) *roaring.Bitmap {
	var parts []*roaring.Bitmap
	for _, v := range values {
		if s := set(v); s != nil {
			parts = append(parts, s)
		}
	}
	return roaring.FastOr(parts...)
}

func (x *index) catPost(v string) *roaring.Bitmap {
	if id, ok := x.catIDs[v]; ok {
		return x.cats[id].post
	}
	return nil
}

func (x *index) brandPost(v string) *roaring.Bitmap {
	if id, ok := x.brandIDs[v]; ok {
		return x.brands[id].post
	}
	return nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// facets fills out.Facets. base(i) is the result set without filter i's
// selection (-1: with every selection); own finds a facet's filter.
func (x *index) facets(out *api.SearchResult, p *api.SearchParams, st *state, r *roaring.Bitmap, fs []filter,
	base func(int) *roaring.Bitmap, own func(int, uint32) int) {
	bases := [3]*roaring.Bitmap{r, r, r}
	for k := range bases {
		if i := own(k, 0); i >= 0 {
			bases[k] = base(i)
		}
	}
	// One scan per distinct base counts what it serves.
	for k := range bases {
		if k > 0 && (bases[k] == bases[0] || k > 1 && bases[k] == bases[1]) {
			continue
		}
		x.scan(st, bases[k], bases[facetCat] == bases[k], bases[facetBrand] == bases[k], bases[facetPrice] == bases[k])
	}
	f := &out.Facets
	f.Category = topValues(st, st.names[:len(x.cats)], func(i int) string { return x.cats[i].name },
		p.Categories, x.cfg.FacetValues, func(v string) int {
			if id, ok := x.catIDs[v]; ok {
				return int(st.names[id])
			}
			return 0
		})
	f.Brand = topValues(st, st.brands[1:len(x.brands)+1], func(i int) string { return x.brands[i].name },
		p.Brands, x.cfg.FacetValues, func(v string) int {
			if id, ok := x.brandIDs[v]; ok {
				return int(st.brands[id+1])
			}
			return 0
		})
	clear(st.names[:len(x.cats)])
	clear(st.brands[:len(x.brands)+1])
	hasPrice := p.PriceMin > 0 || p.PriceMax > 0
	f.Price = make([]api.PriceBucket, len(x.ranges))
	for i, lo := range x.ranges {
		b := api.PriceBucket{Min: lo, Count: int(st.prices[i+1])}
		if i+1 < len(x.ranges) {
			b.Max = x.ranges[i+1]
		}
		b.Selected = hasPrice && p.PriceMin == b.Min && (b.Max == 0 && p.PriceMax == 0 || b.Max > 0 && p.PriceMax == b.Max-1)
		f.Price[i] = b
	}
	st.prices = [32]int32{}
	f.Attributes = map[string][]api.FacetValue{}
	for _, id := range x.shownAttrs(p) {
		a := &x.attrs[id]
		b := r
		if i := own(facetAttr, id); i >= 0 {
			b = base(i)
		}
		counts := map[string]int{}
		var vals []string
		for _, pid := range a.values {
			if c := int(b.AndCardinality(x.pairs[pid].post)); c > 0 {
				v := x.pairs[pid].value // the shown spelling
				counts[v] = c
				vals = append(vals, v)
			}
		}
		slices.Sort(vals)
		cs := make([]int32, len(vals))
		for i, v := range vals {
			cs[i] = int32(counts[v])
		}
		// A selected value is shown as its facet value is ("yellow"
		// selected marks "Yellow").
		var selected []string
		for _, v := range p.Attributes[a.name] {
			if pid, ok := a.values[foldValue(v)]; ok {
				v = x.pairs[pid].value
			}
			selected = append(selected, v)
		}
		slices.Sort(selected)
		selected = slices.Compact(selected)
		f.Attributes[a.name] = topValues(st, cs, func(i int) string { return vals[i] },
			selected, x.cfg.FacetValues, func(v string) int { return counts[v] })
	}
}

// shownAttrs returns the attributes whose facets an answer lists: those
// of the selected categories, then the selected ones.
func (x *index) shownAttrs(p *api.SearchParams) []uint32 {
	var out []uint32
	for _, c := range p.Categories {
		if id, ok := x.catIDs[c]; ok {
			for _, a := range x.cats[id].attrs {
				if !slices.Contains(out, a) && len(out) < x.cfg.AttrFacets {
					out = append(out, a)
				}
			}
		}
	}
	for _, name := range sortedKeys(p.Attributes) {
		if id, ok := x.attrIDs[name]; ok && x.attrs[id].facet && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// scan counts the members of s by category name (st.names), brand
// (st.brands, by id+1) and price range (st.prices, by range+1), as
// asked.
func (x *index) scan(st *state, s *roaring.Bitmap, cats, brands, prices bool) {
	it := &st.it // new(manyIntIterator) per call otherwise
	it.Initialize(s)
	defer func() { *it = roaring.ManyIntIterator{} }() // no set kept alive by the pool
	nodes, br := st.nodes, st.brands
	var pr [32]int32
	for {
		n := it.NextMany(st.buf)
		if n == 0 {
			break
		}
		if cats && brands && prices { // every facet from one set: no tests per product
			for _, o := range st.buf[:n] {
				k := x.fk[o]
				nodes[uint32(k>>32)&fkLeafMask]++
				br[uint32(k)]++
				pr[k>>56]++
			}
			continue
		}
		for _, o := range st.buf[:n] {
			k := x.fk[o]
			if cats {
				nodes[uint32(k>>32)&fkLeafMask]++ // node+1; slot 0 counts none
			}
			if brands {
				br[uint32(k)]++
			}
			if prices {
				pr[k>>56]++
			}
		}
	}
	if prices {
		st.prices = pr
	}
	if cats {
		// nodes[i+1] counted node i.
		copy(nodes, nodes[1:len(x.nodes)+1])
		nodes[len(x.nodes)] = 0
		x.rollUp(nodes, st.names)
	}
}

// topValues returns the values of a facet (counts[i] is value i's
// count, name(i) its name) with the most products, limit at most (ties
// by name), plus the selected ones, sorted by count, then name. Only the
// counts are read for values that cannot make the list (a facet of a
// large catalog has thousands of values, a result set few of them), and
// the answer is built in st's scratch and copied out at its length.
func topValues(st *state, counts []int32, name func(int) string, selected []string, limit int, count func(string) int) []api.FacetValue {
	out := st.facet[:0]
	// The limit best, by a bounded insertion: facets have few values
	// with counts, and the limit is small.
	for i, c32 := range counts {
		if c32 == 0 {
			continue
		}
		c := int(c32)
		if len(out) == limit && c < out[limit-1].Count {
			continue
		}
		v := name(i)
		if len(out) == limit && !facetBefore(c, v, &out[limit-1]) {
			continue
		}
		if len(out) < limit {
			out = append(out, api.FacetValue{})
		}
		j := len(out) - 1
		for j > 0 && facetBefore(c, v, &out[j-1]) {
			out[j] = out[j-1]
			j--
		}
		out[j] = api.FacetValue{Value: v, Count: c}
	}
	for _, s := range selected {
		found := false
		for i := range out {
			if out[i].Value == s {
				out[i].Selected, found = true, true
			}
		}
		if !found {
			out = append(out, api.FacetValue{Value: s, Count: count(s), Selected: true})
		}
	}
	sortFacet(out)
	st.facet = out
	res := make([]api.FacetValue, len(out))
	copy(res, out)
	clear(out) // no names kept alive by the pool
	return res
}

// facetBefore reports whether value v with count c lists before f.
func facetBefore(c int, v string, f *api.FacetValue) bool {
	return c > f.Count || c == f.Count && v < f.Value
}

func sortFacet(vs []api.FacetValue) {
	slices.SortFunc(vs, func(a, b api.FacetValue) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
}

// page fills out.Products with the page p asks for.
func (x *index) page(out *api.SearchResult, p *api.SearchParams, st *state, r *roaring.Bitmap, ws []wordSet) {
	pg := &st.pg
	pg.skip, pg.need, pg.out = (p.Page-1)*p.PerPage, p.PerPage, pg.out[:0]
	switch {
	case r.IsEmpty():
	case p.Sort == api.SortPriceAsc || p.Sort == api.SortPriceDesc:
		ord := byPriceAsc
		if p.Sort == api.SortPriceDesc {
			ord = byPriceDesc
		}
		x.take(pg, roaring.And(r, x.priced), ord)
		x.take(pg, roaring.AndNot(r, x.priced), byPop)
	case p.Sort == api.SortRelevance && len(ws) > 0:
		x.tiers(pg, r, ws)
	default:
		x.take(pg, r, byPop)
	}
	out.Products = make([]api.SearchProduct, 0, len(pg.out))
	// The products' URLs and images are written into one buffer (one
	// allocation per page, not two per product), cut into strings once
	// it is complete (appending may move it).
	text := st.text[:0]
	spans := st.spans[:0]
	for _, o := range pg.out {
		var sp api.SearchProduct
		text, spans = x.product(&sp, o, st, ws, text, spans)
		out.Products = append(out.Products, sp)
	}
	if len(text) > 0 {
		all := string(text)
		for i := range out.Products {
			sp, sn := &out.Products[i], spans[2*i:2*i+2]
			sp.URL = all[sn[0][0]:sn[0][1]]
			if sn[1][1] > sn[1][0] {
				sp.Image = all[sn[1][0]:sn[1][1]]
			}
		}
	}
	st.text, st.spans = text, spans
}

// tiers takes r's products by text score (see cExact), best first, each
// score's products by popularity. Classes are computed as the scores
// reached need them, and each intersection of the first words' classes
// once: a page filled by products whose titles have every word as typed
// costs one intersection per word.
func (x *index) tiers(pg *pager, r *roaring.Bitmap, ws []wordSet) {
	w := len(ws)
	// The best scores present: maxE words can be exact, maxT in titles
	// (found for two words or more: one word's classes are taken in
	// order anyway).
	maxE, maxT := w, w
	for i := range ws {
		if w == 1 {
			break
		}
		if i == 0 {
			maxE, maxT = 0, 0
		}
		// Tested, not computed: a page filled by the best score never
		// needs the title classes.
		ex := x.hasExact(&ws[i], r)
		if ex {
			maxE++
		}
		if ex || x.hasTitle(&ws[i], r) {
			maxT++
		}
	}
	// prefix[k]: r ∧ the classes chosen for the first words, keyed by
	// the choice (base nClasses digits, after a leading 1). The map and
	// the leaves are the pager's, reused.
	tw := &pg.walk
	if tw.prefix == nil {
		tw.prefix = map[int]*roaring.Bitmap{}
	}
	tw.x, tw.r, tw.ws, tw.prefix[1] = x, r, ws, r
	if maxE == w && x.lazyTop(pg, tw) {
		maxE-- // the top score is taken
	}
	for e := maxE; e >= 0 && pg.need > 0; e-- {
		for t := maxT; t >= e && pg.need > 0; t-- {
			if w == 1 && t == 0 && x.lazyElse(pg, r, &ws[0]) {
				continue
			}
			tw.leaves = tw.leaves[:0]
			tw.walk(0, e, t, 1)
			switch len(tw.leaves) {
			case 0:
			case 1:
				x.take(pg, tw.leaves[0], byPop) // take only reads it
			default:
				x.take(pg, union(tw.leaves), byPop)
			}
		}
	}
	clear(tw.prefix) // no sets kept alive by the pool
	clear(tw.leaves)
	tw.x, tw.r, tw.ws = nil, nil, nil
}

// The top score of a query (every word in the title as typed) is taken
// bucket by bucket (see takeLazy) rather than made, when its products
// are expected to fill a page from the first lazyBuckets popularity
// buckets: its intersections (r with each word's exact title posting)
// are then never made (a large result set's intersected every container
// of large sets).
// (Variables so that tests can make them small.)
var (
	lazyMin     uint64 = 16384 // a smaller set's intersections are cheap
	lazyBuckets        = 4     // buckets visited before the set is made
	lazyPages   uint64 = 4     // pages expected in them, at least
)

// lazyTop takes the top score's products (every word exact: the walk's
// leaf of e = t = len(ws)) into the page, and reports whether it did
// (the caller then starts one score lower). When the first buckets
// leave the page unfilled, the leaf is made as the walk makes it (its
// intersections kept in tw.prefix) and taken from the next bucket on.
func (x *index) lazyTop(pg *pager, tw *tierWalk) bool {
	ws := tw.ws
	n := tw.r.GetCardinality()
	if pg.need == 0 || n <= lazyMin || len(ws) > 8 {
		return false
	}
	var buf [9]*roaring.Bitmap
	and := buf[:0]
	// Expected members: r's share of each word's matches having the
	// word in the title as typed, as if independent.
	est := float64(n)
	for i := range ws {
		if ws[i].exact == 0 || ws[i].class[cExact] != nil {
			return false
		}
		b := x.terms[ws[i].exact-1].post[fTitle]
		if b == nil {
			return false
		}
		and = append(and, b)
		est *= min(1, float64(b.GetCardinality())/float64(max(x.estimate(&ws[i]), 1)))
	}
	if est*float64(lazyBuckets)*float64(bucketSize) < float64(lazyPages)*float64(pg.need)*float64(max(x.live, 1)) {
		return false
	}
	slices.SortFunc(and, func(a, b *roaring.Bitmap) int { return cmp.Compare(a.GetCardinality(), b.GetCardinality()) })
	and = append(and, tw.r)
	i := x.takeLazy(pg, and, nil, lazyBuckets)
	if pg.need == 0 || i == len(x.pop.sets) {
		return true
	}
	key, pre := 1, tw.r
	for j := range ws {
		k := key*nClasses + cExact
		s, ok := tw.prefix[k]
		if !ok {
			s = x.within(pre, j == 0, &ws[j], tw.r, cExact)
			tw.prefix[k] = s
		}
		key, pre = k, s
		if pre.IsEmpty() {
			return true // the top score has no products
		}
	}
	x.takeFrom(pg, pre, byPop, i)
	return true
}

// lazyElse takes the one query word ws's last class (matched only by
// the categories or attributes: classOf(ws, r, cElse), the walk's leaf
// of e = t = 0) into the page as lazyTop does, and reports whether it
// did: r is large, its other classes are made (the page is not full),
// and the class is expected to fill a page from the first buckets.
func (x *index) lazyElse(pg *pager, r *roaring.Bitmap, ws *wordSet) bool {
	if pg.need == 0 || ws.class[cElse] != nil || r.GetCardinality() <= lazyMin {
		return false
	}
	ex, ti := x.classOf(ws, r, cExact), x.classOf(ws, r, cTitle)
	n := r.GetCardinality() - ex.GetCardinality() - ti.GetCardinality()
	if n*uint64(lazyBuckets)*uint64(bucketSize) < lazyPages*uint64(pg.need)*uint64(max(x.live, 1)) {
		return false
	}
	and, not := [1]*roaring.Bitmap{r}, [2]*roaring.Bitmap{ex, ti}
	i := x.takeLazy(pg, and[:], not[:], lazyBuckets)
	if pg.need > 0 && i < len(x.pop.sets) {
		x.takeFrom(pg, x.classOf(ws, r, cElse), byPop, i)
	}
	return true
}

// within returns pre ∧ classOf(ws, r, c), pre a subset of r (first:
// r itself). The first word's class is within r already; a later word's
// exact and title classes are intersected with pre directly, not
// computed over all of r (pre is the smaller, and often the last
// intersection a page needs).
func (x *index) within(pre *roaring.Bitmap, first bool, ws *wordSet, r *roaring.Bitmap, c int) *roaring.Bitmap {
	if first {
		return x.classOf(ws, r, c)
	}
	if cl := ws.class[c]; cl != nil || c == cElse {
		return roaring.And(pre, x.classOf(ws, r, c))
	}
	var ex *roaring.Bitmap // the exact term's title posting
	if ws.exact != 0 {
		ex = x.terms[ws.exact-1].post[fTitle]
	}
	if c == cExact {
		if ex == nil {
			return emptySet
		}
		return roaring.And(pre, ex)
	}
	// cTitle: (pre ∧ the other title postings) − ex.
	var buf [8]*roaring.Bitmap
	s := andUnion(pre, x.postings(ws, true, buf[:0]), false)
	if ex != nil {
		s.AndNot(ex)
	}
	return s
}

// hasExact reports whether classOf(ws, r, cExact) has members.
func (x *index) hasExact(ws *wordSet, r *roaring.Bitmap) bool {
	if c := ws.class[cExact]; c != nil {
		return !c.IsEmpty()
	}
	if ws.exact == 0 {
		return false
	}
	b := x.terms[ws.exact-1].post[fTitle]
	return b != nil && r.Intersects(b)
}

// hasTitle reports whether classOf(ws, r, cTitle) has members, when
// classOf(ws, r, cExact) has none: r meets a title posting of ws.
func (x *index) hasTitle(ws *wordSet, r *roaring.Bitmap) bool {
	if c := ws.class[cTitle]; c != nil {
		return !c.IsEmpty()
	}
	var buf [8]*roaring.Bitmap
	for _, b := range x.postings(ws, true, buf[:0]) {
		if r.Intersects(b) {
			return true
		}
	}
	return false
}

// tierWalk is tiers' scratch: the intersections of the first words'
// classes, and the sets of one score.
type tierWalk struct {
	x      *index
	r      *roaring.Bitmap
	ws     []wordSet
	prefix map[int]*roaring.Bitmap
	leaves []*roaring.Bitmap
}

// walk assigns classes to words i.. so that e of them are exact and t in
// the title, and adds the nonempty intersections to tw.leaves.
func (tw *tierWalk) walk(i, e, t, key int) {
	w := len(tw.ws)
	if i == w {
		tw.leaves = append(tw.leaves, tw.prefix[key])
		return
	}
	for c := range nClasses {
		ne, nt := e, t
		switch c {
		case cExact:
			ne, nt = e-1, t-1
		case cTitle:
			nt = t - 1
		}
		if ne < 0 || nt < ne || nt > w-i-1 || w-i-1-nt < 0 {
			continue
		}
		k := key*nClasses + c
		s, ok := tw.prefix[k]
		if !ok {
			s = tw.x.within(tw.prefix[key], i == 0, &tw.ws[i], tw.r, c)
			tw.prefix[k] = s
		}
		if !s.IsEmpty() {
			tw.walk(i+1, ne, nt, k)
		}
	}
}

// highlightFilter skips the vocabulary lookup of the name words that
// mayMatch rules out (a variable so that a test can compare).
var highlightFilter = true

// mayMatch reports whether word may match one of ws (wordSet.has): the
// terms of a word set are those sharing a stem with it, those it starts
// (the last word; a heavy prefix's too) or typo corrections, so a word
// none of these can be is matched by none.
func mayMatch(ws []wordSet, word string) bool {
	for k := range ws {
		w := ws[k].w
		if ws[k].typo || strings.HasPrefix(word, w) || nearStem(word, w) && shareStem(word, w) {
			return true
		}
	}
	return false
}

// nearStem reports whether a and b may share a stem: a stem of a word is
// its first len-3 bytes or more (plus a "y" for "ies"), so two words
// sharing one share a prefix of at least the longer's length - 3.
// (shareStem builds the "ies" stems: it allocates.)
func nearStem(a, b string) bool {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n >= max(len(a), len(b))-3
}

// product renders ordinal o for an answer into sp, but for its URL and
// image: it appends them to text and their spans to spans (the caller
// makes the strings).
func (x *index) product(sp *api.SearchProduct, o uint32, st *state, ws []wordSet, text []byte, spans [][2]int) ([]byte, [][2]int) {
	d := &x.docs[o]
	b := x.blobOf(o)
	*sp = api.SearchProduct{ID: b.id, Name: b.name, Availability: bandNames[d.band], Highlights: [][2]int{}}
	start := len(text)
	text = append(text, "/products/"...)
	if b.slug != "" {
		text = append(text, b.slug...)
	} else {
		text = api.AppendSlug(text, b.name, b.id)
	}
	spans = append(spans, [2]int{start, len(text)})
	start = len(text)
	if b.file != "" || b.dir != 0 {
		text = append(text, x.dirs.strs[b.dir]...)
		text = append(text, b.file...)
	}
	spans = append(spans, [2]int{start, len(text)})
	if d.priced() {
		sp.Price = &api.Money{Amount: d.price, Currency: x.curs.strs[b.cur]}
	}
	if len(ws) > 0 && st.name.Normalize(b.name) == nil {
		hl := st.hl[:0] // copied out at its length
		for i, nw := range st.name.Words {
			word := b2s(st.name.Word(i))
			if highlightFilter && !mayMatch(ws, word) {
				continue // the vocabulary's map is large: a lookup misses the caches
			}
			t, ok := x.termIDs[word]
			if !ok {
				continue
			}
			for k := range ws {
				if ws[k].has(t, word) {
					hl = append(hl, [2]int{int(nw.OStart), int(nw.OEnd)})
					break
				}
			}
		}
		if len(hl) > 0 {
			sp.Highlights = slices.Clone(hl)
		}
		st.hl = hl
	}
	return text, spans
}
