package search

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"shopedge/core/api"
	"shopedge/edge/textnorm"
)

// Fields of a term's postings. Relevance ranks a match in the title over
// one in the categories over one in the attributes (see levelOf).
const (
	fTitle = iota // name and brand
	fCat          // the names of the category path
	fAttr         // the values of the facet attributes
	nFields
)

// term is one normalised word of the catalog. Its postings are the
// products having it in each field; df counts the live products having
// it in any. A term whose df fell to 0 stays, matching nothing.
type term struct {
	s    string
	df   int32
	post [nFields]*roaring.Bitmap
	any  *roaring.Bitmap // the union of post when two or more fields have it
}

// all returns the products having t in any field (nil when none).
func (t *term) all() *roaring.Bitmap {
	if t.any != nil {
		return t.any
	}
	for _, b := range t.post {
		if b != nil {
			return b
		}
	}
	return nil
}

// fields returns how many fields have postings of t.
func (t *term) fields() int {
	n := 0
	for _, b := range t.post {
		if b != nil {
			n++
		}
	}
	return n
}

// Availability bands, best first.
const (
	bandIn = iota
	bandLow
	bandOut
)

var bandNames = [...]string{api.InStock, api.LowStock, api.OutOfStock}

// doc is the index's state of one product ordinal: no pointers, so a
// million of them cost the collector nothing to scan. Its strings are in
// the text arena (blob), its facet attribute values in the pair arena.
type doc struct {
	seq   uint64
	score int64  // popularity + the band's boost
	price int64  // the lowest SKU price (minor units), when dPriced
	idKey uint64 // the id's first 8 bytes, big-endian: orders like the id
	blob  uint32 // offset of the text blob in x.tx
	pairs uint32 // offset of the pair list in x.px, noPairs when none
	brand uint32 // brand id + 1, 0 when none
	leaf  uint32 // category node id + 1, 0 when none
	band  uint8
	flags uint8
}

const (
	dLive   = 1 << iota // an indexed product (not a free ordinal)
	dPriced             // price is set
)

const noPairs = math.MaxUint32

func (d *doc) live() bool   { return d.flags&dLive != 0 }
func (d *doc) priced() bool { return d.flags&dPriced != 0 }

// node is one category of the tree: a path from a root.
type node struct {
	name   uint32   // category name id
	parent int32    // -1 for a root
	names  []uint32 // the name ids of the path, root first, without repeats
	terms  []uint32 // the term keys (fCat) of those names, ascending
	kids   []uint32
	leafN  int32 // live products whose path ends here
}

// catName is a category name: filters and facets name categories, not
// nodes, so one name at two places of the tree is one value.
type catName struct {
	name  string
	slug  string
	post  *roaring.Bitmap // products with the name anywhere on their path
	top   []uint32        // nodes of this name without an ancestor of it
	attrs []uint32        // its facet attributes, most present first
}

type brand struct {
	name string
	post *roaring.Bitmap
}

// attr is an attribute name of the catalog. Only facet attributes (see
// Config.AttrMinShare) keep their values once a snapshot is loaded.
type attr struct {
	name string
	// values maps a value to its pair id: while loading, each spelling
	// has its own; from finishLoad on, the values of facet attributes
	// are keyed by foldValue, so spellings differing only in case share
	// one pair, shown with the spelling most products had at the load.
	values map[string]uint32
	facet  bool
	share  float64 // of the whole catalog
}

// pair is one value of a facet attribute.
type pair struct {
	attr  uint32
	value string
	post  *roaring.Bitmap
	words []uint32 // term ids of the value's words
}

// prod is what the index takes of an api.Product; its strings belong to
// the caller.
type prod struct {
	id, name, slug, brand, image string
	cats                         []string
	attrs                        []kv // sorted by name
	price                        int64
	priced                       bool
	currency                     string
	band                         uint8
	pop                          int64
}

type kv struct{ k, v string }

// prodOf takes what the index needs of p.
func prodOf(p *api.Product) prod {
	out := prod{id: p.ID, name: p.Name, slug: p.Slug, brand: p.Brand, image: p.Image, cats: p.Categories, pop: p.Popularity}
	for k, v := range p.Attributes {
		if k != "" && v != "" {
			out.attrs = append(out.attrs, kv{k, v})
		}
	}
	sortKV(out.attrs)
	out.skus(p)
	return out
}

func sortKV(a []kv) { slices.SortFunc(a, func(x, y kv) int { return strings.Compare(x.k, y.k) }) }

// skus sets the price (the lowest of the SKUs', with its currency) and
// the band (the best of the SKUs'; a SKU without one counts as in
// stock, a product without SKUs as out of stock).
func (out *prod) skus(p *api.Product) {
	band := -1
	for i := range p.SKUs {
		s := &p.SKUs[i]
		if s.Price != nil && (!out.priced || s.Price.Amount < out.price) {
			out.price, out.priced, out.currency = s.Price.Amount, true, s.Price.Currency
		}
		b := bandIn
		switch s.Availability {
		case api.LowStock:
			b = bandLow
		case api.OutOfStock:
			b = bandOut
		}
		if band < 0 || b < band {
			band = b
		}
	}
	if band < 0 {
		band = bandOut
	}
	out.band = uint8(band)
}

// index is the search index: one snapshot load builds it, the change feed
// updates it in place under mu.
type index struct {
	mu  sync.RWMutex
	cfg *Config

	loading bool // built by a load: terms not sorted, facets not chosen

	docs []doc
	fk   []uint64 // per ordinal: brand+1 | leaf+1 << 32 | price range+1 << 56
	tx   arena    // text blobs
	px   arena    // pair lists
	free []uint32
	ids  idTable
	dead map[string]uint64 // deleted ids → the deletion's seq
	live int

	all, inStock, priced *roaring.Bitmap

	terms   []term
	termIDs map[string]uint32
	sorted  []uint32 // term ids by string (once loaded)
	stemIx  map[string][]uint32
	alpha   []rune // every character of a term, ascending
	// vgen changes whenever the set of live terms does (a term's df
	// leaves or reaches 0): it keys typoCache.
	vgen      uint64
	typoCache typoCache
	trie      typoTrie // every term, for typo corrections

	heavy map[string]*heavy // nil while loading

	// While loading: each ordinal's title term ids are lk[lkOff[o]:][:lkN[o]]
	// (postings are built once, in catalog order, by finishLoad).
	lk    []uint32
	lkOff []uint32
	lkN   []uint16

	nodes    []node
	nodeIDs  map[string]uint32 // path joined by \x1f → node id
	cats     []catName
	catIDs   map[string]uint32
	catSlugs map[string]uint32 // slug → the largest category name with it
	rootAttr []uint32          // facet attributes of the whole catalog

	brands   []brand
	brandIDs map[string]uint32

	attrs   []attr
	attrIDs map[string]uint32
	pairs   []pair
	merged  map[uint32]uint32 // while finishing a load: pair id → the one it was folded into

	dirs, curs interner

	pop    buckets // (^score, idKey): most popular first
	price  buckets // (price, idKey) of priced products
	lt     []*roaring.Bitmap
	ranges []int64 // lower bounds of the price facet's ranges

	norm  *textnorm.Normalizer // the writer's
	keysA []uint32
	keysB []uint32
	buf   []byte
	pbuf  []uint32
}

func newIndex(cfg *Config) *index {
	return &index{
		cfg:      cfg,
		ids:      newIDTable(0, maphash.MakeSeed()),
		dead:     map[string]uint64{},
		all:      roaring.New(),
		inStock:  roaring.New(),
		priced:   roaring.New(),
		termIDs:  map[string]uint32{},
		stemIx:   map[string][]uint32{},
		nodeIDs:  map[string]uint32{},
		catIDs:   map[string]uint32{},
		catSlugs: map[string]uint32{},
		brandIDs: map[string]uint32{},
		attrIDs:  map[string]uint32{},
		dirs:     newInterner(),
		curs:     newInterner(),
		norm:     textnorm.NewNormalizer(),
	}
}

// idOf returns the id of ordinal o.
func (x *index) idOf(o uint32) string { return readBlobID(x.tx.at(x.docs[o].blob)) }

// blobOf returns the text blob of ordinal o.
func (x *index) blobOf(o uint32) blob { return readBlob(x.tx.at(x.docs[o].blob)) }

// idKeyOf returns the first 8 bytes of id as a big-endian number: two ids
// compare as their keys do, unless the keys are equal.
func idKeyOf(id string) uint64 {
	var b [8]byte
	copy(b[:], id)
	return binary.BigEndian.Uint64(b[:])
}

// termID returns the id of word s, creating the term when create is set;
// ok is false when it does not exist.
func (x *index) termID(s string, create bool) (uint32, bool) {
	if t, ok := x.termIDs[s]; ok {
		return t, true
	}
	if !create {
		return 0, false
	}
	s = strings.Clone(s)
	t := uint32(len(x.terms))
	x.terms = append(x.terms, term{s: s})
	x.termIDs[s] = t
	var st [4]string
	for _, v := range stems(st[:0], s) {
		x.stemIx[v] = append(x.stemIx[v], t)
	}
	if !x.loading {
		i, _ := slices.BinarySearchFunc(x.sorted, s, func(id uint32, s string) int { return strings.Compare(x.terms[id].s, s) })
		x.sorted = slices.Insert(x.sorted, i, t)
		x.trie.insert(s, t)
		x.addAlpha(s)
	}
	return t, true
}

func (x *index) addAlpha(s string) {
	for _, r := range s {
		if i, found := slices.BinarySearch(x.alpha, r); !found {
			x.alpha = slices.Insert(x.alpha, i, r)
		}
	}
}

// nodeOf returns the node of a category path + 1, creating the path;
// 0 for a product without categories. Empty names are skipped.
func (x *index) nodeOf(path []string) uint32 {
	key := x.buf[:0]
	parent := int32(-1)
	for _, name := range path {
		if name == "" {
			continue
		}
		key = append(append(key, name...), 0x1f)
		if id, ok := x.nodeIDs[string(key)]; ok {
			parent = int32(id)
			continue
		}
		id := uint32(len(x.nodes))
		n := node{name: x.catName(name), parent: parent}
		if parent >= 0 {
			p := &x.nodes[parent]
			n.names = slices.Clone(p.names)
			p.kids = append(p.kids, id)
		}
		if !slices.Contains(n.names, n.name) {
			// The first node of its name on the path: its subtree counts
			// for the name.
			n.names = append(n.names, n.name)
			c := &x.cats[n.name]
			c.top = append(c.top, id)
		}
		n.terms = x.catTerms(n.names)
		x.nodes = append(x.nodes, n)
		x.nodeIDs[string(key)] = id
		parent = int32(id)
	}
	x.buf = key
	return uint32(parent + 1)
}

// catTerms returns the term keys (fCat) of the words of names.
func (x *index) catTerms(names []uint32) []uint32 {
	var keys []uint32
	for _, c := range names {
		if x.norm.Normalize(x.cats[c].name) != nil {
			continue
		}
		for i := range x.norm.Words {
			t, _ := x.termID(b2s(x.norm.Word(i)), true)
			keys = append(keys, t*nFields+fCat)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// catName returns the id of category name s, creating it.
func (x *index) catName(s string) uint32 {
	if id, ok := x.catIDs[s]; ok {
		return id
	}
	s = strings.Clone(s)
	id := uint32(len(x.cats))
	x.cats = append(x.cats, catName{name: s, slug: api.KeyToken(s), post: roaring.New()})
	x.catIDs[s] = id
	return id
}

// brandOf returns the id of brand s + 1, creating it; 0 for "".
func (x *index) brandOf(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := x.brandIDs[s]; ok {
		return id + 1
	}
	s = strings.Clone(s)
	id := uint32(len(x.brands))
	x.brands = append(x.brands, brand{name: s, post: roaring.New()})
	x.brandIDs[s] = id
	return id + 1
}

// pairsOf appends the pair ids of attrs (ascending) to dst: every
// attribute while loading, the facet attributes after.
func (x *index) pairsOf(attrs []kv, dst []uint32) []uint32 {
	for _, a := range attrs {
		id, ok := x.attrIDs[a.k]
		if !ok {
			if !x.loading {
				continue
			}
			id = uint32(len(x.attrs))
			k := strings.Clone(a.k)
			x.attrs = append(x.attrs, attr{name: k, values: map[string]uint32{}})
			x.attrIDs[k] = id
		}
		at := &x.attrs[id]
		if !x.loading && !at.facet {
			continue
		}
		key := a.v
		if !x.loading {
			key = foldValue(a.v) // see attr.values
		}
		p, ok := at.values[key]
		if !ok {
			p = uint32(len(x.pairs))
			v := strings.Clone(a.v)
			pr := pair{attr: id, value: v}
			if !x.loading {
				pr.post = roaring.New()
			}
			if at.facet {
				pr.words = x.valueWords(v)
			}
			x.pairs = append(x.pairs, pr)
			if key == a.v {
				key = v
			} else {
				key = strings.Clone(key)
			}
			at.values[key] = p
		}
		dst = append(dst, p)
	}
	slices.Sort(dst)
	return dst
}

// foldValue returns the key of an attribute value in a facet: values
// differing only in case ("Yellow", "yellow") are one value. It returns
// v itself when v has no upper case.
func foldValue(v string) string { return strings.ToLower(v) }

// valueWords returns the term ids of the words of an attribute value.
func (x *index) valueWords(v string) []uint32 {
	if x.norm.Normalize(v) != nil {
		return nil
	}
	var out []uint32
	for i := range x.norm.Words {
		t, _ := x.termID(b2s(x.norm.Word(i)), true)
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// store writes p's state into ordinal o (not posted). pairs are p's
// attribute value ids when the caller has them (nil: found from
// p.attrs).
func (x *index) store(o uint32, p *prod, seq uint64, pairs []uint32) {
	d := &x.docs[o]
	old := *d
	nb := blob{id: p.id, name: p.name, file: p.image, cur: x.curs.id(p.currency)}
	if x.buf = api.AppendSlug(x.buf[:0], p.name, p.id); string(x.buf) != p.slug {
		nb.slug = p.slug
	}
	if i := strings.LastIndexByte(p.image, '/'); i >= 0 {
		nb.dir, nb.file = x.dirs.id(p.image[:i+1]), p.image[i+1:]
	}
	sameText := false
	if old.live() {
		ob := x.blobOf(o)
		sameText = ob.id == nb.id && ob.name == nb.name && ob.slug == nb.slug && ob.file == nb.file && ob.dir == nb.dir && ob.cur == nb.cur
		if !sameText {
			x.tx.drop(ob.size)
		}
	}
	*d = doc{seq: seq, score: p.pop + x.boost(p.band), price: p.price, idKey: idKeyOf(p.id), blob: old.blob,
		pairs: old.pairs, brand: x.brandOf(p.brand), leaf: x.nodeOf(p.cats), band: p.band, flags: dLive}
	if p.priced {
		d.flags |= dPriced
	}
	if !sameText {
		x.buf = appendBlob(x.buf[:0], &nb)
		d.blob = x.tx.add(x.buf)
	}
	if pairs == nil {
		pairs = x.pairsOf(p.attrs, x.pbuf[:0])
		x.pbuf = pairs
	}
	if old.live() && old.pairs != noPairs {
		ol, size := readList(x.keysA[:0], x.px.at(old.pairs))
		x.keysA = ol
		if slices.Equal(ol, pairs) {
			return
		}
		x.px.drop(size)
	}
	d.pairs = noPairs
	if len(pairs) > 0 {
		x.buf = appendList(x.buf[:0], pairs)
		d.pairs = x.px.add(x.buf)
	}
}

func (x *index) boost(band uint8) int64 {
	switch band {
	case bandIn:
		return x.cfg.InStockBoost
	case bandLow:
		return x.cfg.LowStockBoost
	}
	return x.cfg.OutOfStockBoost
}

// docKeys appends the term keys (term id × nFields + field) of ordinal o
// to dst, ascending and without repeats. With create, missing terms are
// made (a product being posted); without, they are skipped.
func (x *index) docKeys(o uint32, create bool, dst []uint32) []uint32 {
	d := &x.docs[o]
	start := len(dst)
	title := func(s string) {
		if x.norm.Normalize(s) != nil {
			return
		}
		for i := range x.norm.Words {
			if t, ok := x.termID(b2s(x.norm.Word(i)), create); ok {
				dst = append(dst, t*nFields+fTitle)
			}
		}
	}
	title(x.blobOf(o).name)
	if d.brand != 0 {
		title(x.brands[d.brand-1].name)
	}
	if d.leaf != 0 {
		dst = append(dst, x.nodes[d.leaf-1].terms...)
	}
	if d.pairs != noPairs {
		x.pbuf, _ = readList(x.pbuf[:0], x.px.at(d.pairs))
		for _, p := range x.pbuf {
			for _, t := range x.pairs[p].words {
				dst = append(dst, t*nFields+fAttr)
			}
		}
	}
	slices.Sort(dst[start:])
	return append(dst[:start], slices.Compact(dst[start:])...)
}

// post adds ordinal o, stored, to every posting and facet structure.
func (x *index) post(o uint32) {
	d := &x.docs[o]
	keys := x.docKeys(o, true, x.keysB[:0])
	x.keysB = keys
	prev := uint32(math.MaxUint32)
	for _, k := range keys {
		t := &x.terms[k/nFields]
		bm := &t.post[k%nFields]
		if *bm == nil {
			*bm = roaring.New()
		}
		(*bm).Add(o)
		if !x.loading {
			if t.any != nil {
				t.any.Add(o)
			} else if t.fields() > 1 {
				t.any = union(t.post[:])
			}
		}
		if k/nFields != prev && !x.loading {
			t.df++
			if t.df == 1 {
				x.vgen++
			}
		}
		prev = k / nFields
		if x.heavy != nil {
			x.heavyOf(t.s, func(h *heavy) { h.by[k%nFields].Add(o); h.any.Add(o) })
		}
	}
	if d.pairs != noPairs {
		x.pbuf, _ = readList(x.pbuf[:0], x.px.at(d.pairs))
		for _, p := range x.pbuf {
			x.pairs[p].post.Add(o)
		}
	}
	if d.brand != 0 {
		x.brands[d.brand-1].post.Add(o)
	}
	if d.leaf != 0 {
		n := &x.nodes[d.leaf-1]
		n.leafN++
		for _, c := range n.names {
			x.cats[c].post.Add(o)
		}
	}
	x.all.Add(o)
	if d.band != bandOut {
		x.inStock.Add(o)
	}
	x.live++
	if x.loading {
		return
	}
	if d.priced() {
		x.priced.Add(o)
		b := x.price.find(d.price, d.idKey)
		x.price.sets[b].Add(o)
		for c := range x.lt {
			if b < c*ltStep {
				x.lt[c].Add(o)
			}
		}
	}
	x.pop.sets[x.pop.find(^d.score, d.idKey)].Add(o)
	x.fk[o] = x.facetKey(d)
}

// unpost removes ordinal o from everything post added it to.
func (x *index) unpost(o uint32) {
	d := &x.docs[o]
	keys := x.docKeys(o, false, x.keysB[:0])
	x.keysB = keys
	prev := uint32(math.MaxUint32)
	for _, k := range keys {
		t := &x.terms[k/nFields]
		if bm := t.post[k%nFields]; bm != nil {
			bm.Remove(o)
		}
		if t.any != nil {
			t.any.Remove(o)
		}
		if k/nFields != prev && !x.loading {
			t.df--
			if t.df == 0 {
				x.vgen++
			}
		}
		prev = k / nFields
		if x.heavy != nil {
			x.heavyOf(t.s, func(h *heavy) { h.by[k%nFields].Remove(o); h.any.Remove(o) })
		}
	}
	if d.pairs != noPairs {
		x.pbuf, _ = readList(x.pbuf[:0], x.px.at(d.pairs))
		for _, p := range x.pbuf {
			x.pairs[p].post.Remove(o)
		}
	}
	if d.brand != 0 {
		x.brands[d.brand-1].post.Remove(o)
	}
	if d.leaf != 0 {
		n := &x.nodes[d.leaf-1]
		n.leafN--
		for _, c := range n.names {
			x.cats[c].post.Remove(o)
		}
	}
	x.all.Remove(o)
	x.inStock.Remove(o)
	x.priced.Remove(o)
	x.live--
	if x.loading {
		return
	}
	if d.priced() {
		b := x.price.find(d.price, d.idKey)
		x.price.sets[b].Remove(o)
		for c := range x.lt {
			if b < c*ltStep {
				x.lt[c].Remove(o)
			}
		}
	}
	x.pop.sets[x.pop.find(^d.score, d.idKey)].Remove(o)
	x.fk[o] = 0
}

// facetKey packs what a facet scan reads of a product.
func (x *index) facetKey(d *doc) uint64 {
	k := uint64(d.brand) | uint64(d.leaf)<<32
	if d.priced() && d.price >= 0 {
		r := sort.Search(len(x.ranges), func(i int) bool { return x.ranges[i] > d.price }) // > 0: ranges[0] is 0
		k |= uint64(r) << 56
	}
	return k
}

// Facet keys: brand id+1 in the low 32 bits, node id+1 in the next 24,
// price range + 1 in the top 8.
const (
	fkLeafMask = 1<<24 - 1
	maxNodes   = fkLeafMask - 1
)

// newOrdinal returns a free ordinal, growing the per-ordinal arrays.
func (x *index) newOrdinal() uint32 {
	if n := len(x.free); n > 0 {
		o := x.free[n-1]
		x.free = x.free[:n-1]
		return o
	}
	o := uint32(len(x.docs))
	if x.loading {
		x.docs = grow2(x.docs, 1)
	}
	x.docs = append(x.docs, doc{})
	if !x.loading {
		x.fk = append(x.fk, 0)
	}
	return o
}

// upsert applies p at sequence seq; it reports whether the index changed.
// A state not newer than the one held is ignored.
func (x *index) upsert(p *prod, seq uint64) bool {
	o, _, ok := x.findID(p.id)
	if ok {
		if seq <= x.docs[o].seq {
			return false
		}
		x.unpost(o)
	} else {
		if s, gone := x.dead[p.id]; gone && seq <= s {
			return false
		}
		delete(x.dead, p.id)
		o = x.newOrdinal()
	}
	x.store(o, p, seq, nil)
	if !ok {
		x.putID(p.id, o)
	}
	x.post(o)
	x.compact()
	return true
}

// remove deletes product id as of seq; it reports whether the index
// changed.
func (x *index) remove(id string, seq uint64) bool {
	o, slot, ok := x.findID(id)
	if !ok {
		if s, had := x.dead[id]; !had || seq > s {
			x.dead[strings.Clone(id)] = seq
		}
		return false
	}
	if seq <= x.docs[o].seq {
		return false
	}
	x.unpost(o)
	x.deleteID(slot)
	d := &x.docs[o]
	x.tx.drop(x.blobOf(o).size)
	if d.pairs != noPairs {
		_, size := readList(x.keysA[:0], x.px.at(d.pairs))
		x.px.drop(size)
	}
	x.dead[strings.Clone(id)] = seq
	*d = doc{}
	x.free = append(x.free, o)
	x.compact()
	return true
}

// compact rewrites an arena once most of it is garbage.
func (x *index) compact() {
	if x.tx.garbage > 1<<20 && x.tx.garbage > x.tx.size {
		var nt arena
		for o := range x.docs {
			if d := &x.docs[o]; d.live() {
				b := x.blobOf(uint32(o))
				d.blob = nt.add(x.tx.at(d.blob)[:b.size])
			}
		}
		x.tx = nt
	}
	if x.px.garbage > 1<<20 && x.px.garbage > x.px.size {
		var np arena
		for o := range x.docs {
			if d := &x.docs[o]; d.live() && d.pairs != noPairs {
				_, size := readList(x.keysA[:0], x.px.at(d.pairs))
				d.pairs = np.add(x.px.at(d.pairs)[:size])
			}
		}
		x.px = np
	}
}

// grow2 returns s with room for n more elements, doubling its capacity
// when it must grow. A snapshot load appends a million products one at a
// time to its slices: append's growth by a quarter for large slices
// copied each ~4 times its final size (growslice was 1.5 s of a 1M load's
// CPU, newOrdinal's docs alone 1.1 s).
func grow2[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	return slices.Grow(s, max(n, len(s), 256))
}
