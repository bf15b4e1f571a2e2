package search

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// Sorted pages. Every sort is a total order, so pages never overlap or
// skip a product however ties fall:
//
//	popularity  score (popularity + availability boost) desc, id asc
//	price_asc   price asc, id asc; products without a price last, by popularity
//	price_desc  the reverse of price_asc on priced products; the rest last, by popularity
//	relevance   text score desc, then as popularity
//
// Products are kept in buckets of about bucketSize by their sort key
// (score or price, then the id's first 8 bytes), fixed at each snapshot
// load: a page of a large result set counts the set's members bucket by
// bucket (bitmap intersections) and sorts only the buckets the page
// falls in. A price or popularity change moves the product to its new
// bucket; the bounds stay until the next load (skewed buckets cost time,
// never order).

// Sizes of the sort structures (variables so that tests can make them
// small).
var (
	bucketSize = 1024
	maxBuckets = 4096
	// ltStep is the number of price buckets between two cumulative sets
	// (index.lt): a price filter is one cumulative set and at most
	// ltStep-1 buckets on each side, plus one bucket scanned.
	ltStep = 16
	// directMax is the largest set sorted whole rather than bucket by
	// bucket.
	directMax = 1024
)

// buckets partition products by a sort key: bucket i holds the keys in
// [(p[i], k[i]), (p[i+1], k[i+1])).
type buckets struct {
	p    []int64
	k    []uint64
	sets []*roaring.Bitmap
}

// find returns the bucket of key (p, k).
func (b *buckets) find(p int64, k uint64) int {
	return sort.Search(len(b.p), func(i int) bool { return b.p[i] > p || b.p[i] == p && b.k[i] > k }) - 1
}

// sortKey is a product's place in an order: p, then k, then the id.
type sortKey struct {
	p int64
	k uint64
	o uint32
}

func cmpKey(a, b sortKey) int {
	if c := cmp.Compare(a.p, b.p); c != 0 {
		return c
	}
	return cmp.Compare(a.k, b.k)
}

// newBuckets returns buckets of about equal shares of keys, sorted.
func newBuckets(keys []sortKey) buckets {
	n := min(max(len(keys)/bucketSize, 1), maxBuckets)
	b := buckets{p: []int64{math.MinInt64}, k: []uint64{0}}
	for i := 1; i < n; i++ {
		kk := keys[i*len(keys)/n]
		last := len(b.p) - 1
		if kk.p > b.p[last] || kk.p == b.p[last] && kk.k > b.k[last] {
			b.p, b.k = append(b.p, kk.p), append(b.k, kk.k)
		}
	}
	b.sets = make([]*roaring.Bitmap, len(b.p))
	for i := range b.sets {
		b.sets[i] = roaring.New()
	}
	return b
}

// order is the ranking of a page.
type order uint8

const (
	byPop order = iota
	byPriceAsc
	byPriceDesc
)

func (x *index) sortKey(o uint32, ord order) sortKey {
	d := &x.docs[o]
	switch ord {
	case byPriceAsc:
		return sortKey{d.price, d.idKey, o}
	case byPriceDesc:
		return sortKey{^d.price, ^d.idKey, o}
	}
	return sortKey{^d.score, d.idKey, o}
}

// cmpFull compares two products' keys, then their ids.
func (x *index) cmpFull(a, b sortKey, ord order) int {
	if c := cmpKey(a, b); c != 0 || a.o == b.o {
		return c
	}
	c := strings.Compare(x.idOf(a.o), x.idOf(b.o))
	if ord == byPriceDesc {
		c = -c
	}
	return c
}

// pager collects one page: skip products, then need more, in order.
type pager struct {
	skip, need int
	out        []uint32
	keys       []sortKey
	arr        []uint32
	it         roaring.ManyIntIterator
	walk       tierWalk
}

// take adds the products of s, ranked by ord, to the page. For the price
// orders, s holds priced products only.
func (x *index) take(pg *pager, s *roaring.Bitmap, ord order) {
	if pg.need == 0 {
		return
	}
	n := int(s.GetCardinality())
	if pg.skip >= n {
		pg.skip -= n
		return
	}
	if n <= directMax {
		x.takeSorted(pg, s, ord)
		return
	}
	x.takeFrom(pg, s, ord, 0)
}

// takeFrom is take's walk of the buckets, from bucket from on (in the
// order's direction): the buckets before were taken already.
func (x *index) takeFrom(pg *pager, s *roaring.Bitmap, ord order, from int) {
	b := &x.pop
	if ord != byPop {
		b = &x.price
	}
	for j := from; j < len(b.sets); j++ {
		i := j
		if ord == byPriceDesc {
			i = len(b.sets) - 1 - j
		}
		c := int(s.AndCardinality(b.sets[i]))
		if c == 0 {
			continue
		}
		if pg.skip >= c {
			pg.skip -= c
			continue
		}
		// The bucket's share only (copying s into a scratch set to
		// intersect it in place copied all of a large s).
		x.takeSorted(pg, roaring.And(b.sets[i], s), ord)
		if pg.need == 0 {
			return
		}
	}
}

// takeLazy is take(pg, (the sets of and, intersected) − the sets of not,
// byPop) over the first limit popularity buckets at most, without making
// that set: each bucket (about bucketSize products) is intersected with
// and's sets in turn (the smallest first is cheapest), then not's are
// removed. It returns the bucket to resume from with takeFrom
// (len(x.pop.sets) when every bucket was visited). A dense set fills a
// page from its first buckets, where making it intersected every
// container of large sets.
func (x *index) takeLazy(pg *pager, and, not []*roaring.Bitmap, limit int) int {
	sets := x.pop.sets
	i := 0
	for ; i < len(sets) && i < limit && pg.need > 0; i++ {
		t := roaring.And(sets[i], and[0])
		for _, a := range and[1:] {
			if t.IsEmpty() {
				break
			}
			t.And(a)
		}
		for _, n := range not {
			if t.IsEmpty() {
				break
			}
			t.AndNot(n)
		}
		c := int(t.GetCardinality())
		if c == 0 {
			continue
		}
		if pg.skip >= c {
			pg.skip -= c
			continue
		}
		x.takeSorted(pg, t, byPop)
	}
	return i
}

// takeSorted ranks every member of s and adds its share to the page.
func (x *index) takeSorted(pg *pager, s *roaring.Bitmap, ord order) {
	pg.arr = pg.arr[:0]
	pg.arr = append(pg.arr, make([]uint32, s.GetCardinality())...)
	pg.it.Initialize(s)
	pg.it.NextMany(pg.arr)
	pg.it = roaring.ManyIntIterator{}
	keys := pg.keys[:0]
	for _, o := range pg.arr {
		keys = append(keys, x.sortKey(o, ord))
	}
	pg.keys = keys
	m := min(pg.skip+pg.need, len(keys))
	if m*8 < len(keys) {
		x.selectTop(keys, m, ord)
		keys = keys[:m]
	}
	slices.SortFunc(keys, func(a, b sortKey) int { return x.cmpFull(a, b, ord) })
	for _, k := range keys {
		if pg.skip > 0 {
			pg.skip--
			continue
		}
		if pg.need == 0 {
			break
		}
		pg.out = append(pg.out, k.o)
		pg.need--
	}
}

// selectTop moves the m smallest keys to keys[:m] (in no order), with a
// max-heap of m.
func (x *index) selectTop(keys []sortKey, m int, ord order) {
	less := func(a, b sortKey) bool { return x.cmpFull(a, b, ord) < 0 }
	h := keys[:m]
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= m {
				return
			}
			if r := l + 1; r < m && less(h[l], h[r]) {
				l = r
			}
			if !less(h[i], h[l]) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for i := m/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, k := range keys[m:] {
		if less(k, h[0]) {
			h[0] = k
			down(0)
		}
	}
}

// buildOrders makes the popularity and price buckets, the cumulative
// price sets and the price facet's ranges from the loaded products.
func (x *index) buildOrders() {
	pop := make([]sortKey, 0, x.live)
	price := make([]sortKey, 0, x.live)
	prices := make([]int64, 0, x.live)
	for o := range x.docs {
		d := &x.docs[o]
		if !d.live() {
			continue
		}
		pop = append(pop, x.sortKey(uint32(o), byPop))
		if d.priced() {
			price = append(price, x.sortKey(uint32(o), byPriceAsc))
			if d.price > 0 {
				prices = append(prices, d.price)
			}
		}
	}
	parallel(3, func(i int) { // one sort each, on both CPUs
		switch i {
		case 0:
			slices.SortFunc(pop, cmpKey)
		case 1:
			slices.SortFunc(price, cmpKey)
		default:
			slices.Sort(prices)
		}
	})
	x.pop = newBuckets(pop)
	x.price = newBuckets(price)
	// The keys are sorted: each bucket's members are a run of them,
	// sorted by ordinal and added at once (roaring appends).
	fill := func(b *buckets, keys []sortKey) {
		i, start := 0, 0
		var ords []uint32
		flush := func(end int) {
			ords = ords[:0]
			for _, k := range keys[start:end] {
				ords = append(ords, k.o)
			}
			slices.Sort(ords)
			b.sets[i].AddMany(ords)
			start = end
		}
		for n, k := range keys {
			for i+1 < len(b.p) && (b.p[i+1] < k.p || b.p[i+1] == k.p && b.k[i+1] <= k.k) {
				flush(n)
				i++
			}
		}
		flush(len(keys))
	}
	parallel(2, func(i int) {
		if i == 0 {
			fill(&x.pop, pop)
		} else {
			fill(&x.price, price)
		}
	})
	x.lt = make([]*roaring.Bitmap, (len(x.price.sets)+ltStep-1)/ltStep)
	acc := roaring.New()
	for c := range x.lt {
		x.lt[c] = acc.Clone()
		for i := c * ltStep; i < min((c+1)*ltStep, len(x.price.sets)); i++ {
			acc.Or(x.price.sets[i])
		}
	}
	x.ranges = niceRanges(prices, x.cfg.PriceRanges)
	x.fk = make([]uint64, len(x.docs))
	for o := range x.docs {
		if d := &x.docs[o]; d.live() {
			x.fk[o] = x.facetKey(d)
			if d.priced() {
				x.priced.Add(uint32(o))
			}
		}
	}
	for _, b := range [...]*buckets{&x.pop, &x.price} {
		for _, s := range b.sets {
			s.RunOptimize()
		}
	}
}

// lessThan returns the priced products with a price below v, in a new
// bitmap.
func (x *index) lessThan(v int64) *roaring.Bitmap {
	b := &x.price
	j := b.find(v, 0) // the bucket of the smallest key with price v
	c := j / ltStep
	parts := make([]*roaring.Bitmap, 0, ltStep+1)
	parts = append(parts, x.lt[c])
	parts = append(parts, b.sets[c*ltStep:j]...)
	out := roaring.FastOr(parts...)
	it := b.sets[j].Iterator()
	for it.HasNext() {
		if o := it.Next(); x.docs[o].price < v {
			out.Add(o)
		}
	}
	return out
}

// priceRange returns the priced products with lo <= price <= hi (hi 0:
// no upper bound).
func (x *index) priceRange(lo, hi int64) *roaring.Bitmap {
	var s *roaring.Bitmap
	if hi > 0 && hi < math.MaxInt64 {
		s = x.lessThan(hi + 1)
	} else {
		s = x.priced.Clone()
	}
	if lo > math.MinInt64 {
		s.AndNot(x.lessThan(lo))
	}
	return s
}

// niceRanges returns the lower bounds of n price ranges (the first 0)
// near equal shares of prices (sorted, > 0), rounded to 1, 2 or 5 times
// a power of ten.
func niceRanges(prices []int64, n int) []int64 {
	out := []int64{0}
	if len(prices) == 0 {
		return out
	}
	for i := 1; i < n; i++ {
		v := nice(prices[i*len(prices)/n])
		if v > out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// nice rounds v (> 0) to the nearest of 1, 2 and 5 times a power of ten,
// at least 100 (one unit of a currency with cents).
func nice(v int64) int64 {
	if v <= 100 {
		return 100
	}
	m := int64(1)
	for m*10 <= v {
		m *= 10
	}
	best := m
	for _, c := range [...]int64{2 * m, 5 * m, 10 * m} {
		if absDiff(c, v) < absDiff(best, v) {
			best = c
		}
	}
	return best
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
