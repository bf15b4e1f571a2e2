package catalog

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/store"
)

// ScanProducts calls fn for every product in tx in id order, with
// availability filled in. Each p is freshly allocated and belongs to fn. An
// error from fn stops the scan and is returned.
func (s *Service) ScanProducts(tx store.Txn, fn func(p *api.Product) error) error {
	start := []byte(store.NSProduct)
	return tx.Scan(start, store.PrefixEnd(start), 0, func(k, v []byte) error {
		p := new(api.Product)
		if err := json.Unmarshal(v, p); err != nil {
			return fmt.Errorf("cannot decode product %s: %w", k[len(start):], err)
		}
		if err := s.fillAvailability(tx, p); err != nil {
			return err
		}
		return fn(p)
	})
}

// ScanProductJSON calls fn for every product in tx, most popular first
// (ties in id order), with its JSON with availability filled in: the bytes
// json.Marshal yields for the product ScanProducts passes. json is valid
// only until fn returns. An error from fn stops the scan and is returned.
//
// Popularity order lets a reader whose cache cannot hold the whole catalog
// keep the products that are asked for most. It costs a first pass over
// the products for their popularity; the values that pass reads are kept
// (a View transaction's scanned values stay valid until it ends), so the
// second pass reads no index: tx must be a View transaction.
func (s *Service) ScanProductJSON(tx store.Txn, fn func(json []byte) error) error {
	start := []byte(store.NSProduct)
	// The sort moves 16-byte entries; the values stay in id order.
	type entry struct {
		pop int64
		i   int // of the value in vals: breaks ties in id order
	}
	var order []entry
	var vals [][]byte
	err := tx.Scan(start, store.PrefixEnd(start), 0, func(k, v []byte) error {
		pop, err := popularity(v)
		if err != nil {
			return fmt.Errorf("cannot read the popularity of product %s: %w", k[len(start):], err)
		}
		order = append(order, entry{pop, len(vals)})
		vals = append(vals, v)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(order, func(a, b entry) int {
		if c := cmp.Compare(b.pop, a.pop); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	var sp splicer
	if sp.bands, err = s.readBands(tx); err != nil {
		return err
	}
	for _, e := range order {
		out, err := s.withAvailability(&sp, vals[e.i])
		if err != nil {
			return err
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// popularityKey is how json.Marshal writes an api.Product's popularity
// key: never the first, and after the id, slug, name, brand, categories,
// description and image, whose strings cannot hold it (a quote inside a
// string is escaped). Nested keys (attributes, SKUs) come after it.
var popularityKey = []byte(`,"popularity":`)

// popularity returns the top-level "popularity" of the stored product v.
// It is read at the first popularityKey followed by an integer, which in
// a product as json.Marshal wrote it (every stored product) is the
// top-level key; anything else is decoded by goccy. (Only the snapshot's
// order depends on it.)
func popularity(v []byte) (int64, error) {
	if i := bytes.Index(v, popularityKey); i > 0 {
		j := i + len(popularityKey)
		k := j
		if k < len(v) && v[k] == '-' {
			k++
		}
		for k < len(v) && v[k] >= '0' && v[k] <= '9' {
			k++
		}
		if k < len(v) && (v[k] == ',' || v[k] == '}') {
			if n, err := strconv.ParseInt(string(v[j:k]), 10, 64); err == nil {
				return n, nil
			}
		}
	}
	var p struct {
		Popularity int64 `json:"popularity"`
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return 0, err
	}
	return p.Popularity, nil
}

// splicer holds the reusable buffers of ScanProductJSON and the bands
// of every SKU.
type splicer struct {
	out   []byte
	skus  []skuAt
	bands *stockBands
}

// stockBands is the availability band of every SKU with a stock record,
// read in one pass over the stock records (a point read per SKU cost about
// 3 µs in a million-product store) and found again through an
// open-addressing table of hashes. The snapshot asks in popularity order,
// so every lookup lands somewhere new in memory: a binary search over a
// million SKUs took ~40 cache misses and 1.5–2 µs, the table takes two.
// It holds ~30 bytes per SKU.
type stockBands struct {
	seed  maphash.Seed
	skus  []byte   // the SKU ids, in key order
	ends  []uint32 // SKU i is skus[ends[i-1]:ends[i]]
	band  []uint8  // SKU i's band is names[band[i]]
	names []string
	// table holds, per SKU, its hash's top 32 bits and its index + 1
	// (0: empty), at the hash's slot or the first free one after it.
	table []uint64
	mask  uint64
	out   string // the band of a SKU without a stock record
}

// readBands reads the band of every SKU in tx.
func (s *Service) readBands(tx store.Txn) (*stockBands, error) {
	b := &stockBands{seed: maphash.MakeSeed(), out: s.cfg.Band(0)}
	start := []byte(store.NSStock)
	err := tx.Scan(start, store.PrefixEnd(start), 0, func(k, v []byte) error {
		sku := k[len(start):]
		if len(v) != stockLen {
			_, err := decodeStock(string(sku), v)
			return err
		}
		available := int64(binary.BigEndian.Uint64(v)) - int64(binary.BigEndian.Uint64(v[8:])) - int64(binary.BigEndian.Uint64(v[16:]))
		name := s.cfg.Band(available)
		n := slices.Index(b.names, name)
		if n < 0 {
			n = len(b.names)
			b.names = append(b.names, name)
		}
		b.skus = append(b.skus, sku...)
		b.ends = append(b.ends, uint32(len(b.skus)))
		b.band = append(b.band, uint8(n))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read stock: %w", err)
	}
	size := 16
	for size < 2*len(b.ends) {
		size <<= 1
	}
	b.table = make([]uint64, size)
	b.mask = uint64(size - 1)
	for i := range b.ends {
		h := maphash.Bytes(b.seed, b.sku(i))
		j := h & b.mask
		for b.table[j] != 0 {
			j = (j + 1) & b.mask
		}
		b.table[j] = h>>32<<32 | uint64(i+1)
	}
	return b, nil
}

func (b *stockBands) sku(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.skus[start:b.ends[i]]
}

// bandOf returns the band of sku.
func (b *stockBands) bandOf(sku []byte) string {
	h := maphash.Bytes(b.seed, sku)
	for j := h & b.mask; ; j = (j + 1) & b.mask {
		e := b.table[j]
		if e == 0 {
			return b.out
		}
		if e>>32 == h>>32 {
			if i := int(uint32(e)) - 1; bytes.Equal(b.sku(i), sku) {
				return b.names[b.band[i]]
			}
		}
	}
}

// skuAt locates one SKU object of a stored product: its "sku" string token
// and its closing brace.
type skuAt struct {
	idStart, idEnd int // the string token, quotes included
	close          int
}

// withAvailability returns v with each SKU's availability band spliced in
// (in sp.out, valid until the next call).
func (s *Service) withAvailability(sp *splicer, v []byte) ([]byte, error) {
	skus, ok := findSKUs(v, sp.skus[:0])
	sp.skus = skus
	if !ok {
		return s.reencode(sp, v)
	}
	out := sp.out[:0]
	prev := 0
	for _, at := range skus {
		id := v[at.idStart+1 : at.idEnd-1]
		var owned string
		if hasEscape(id) {
			if err := json.Unmarshal(v[at.idStart:at.idEnd], &owned); err != nil {
				return nil, fmt.Errorf("cannot decode a SKU id: %w", err)
			}
			id = []byte(owned)
		}
		out = append(out, v[prev:at.close]...)
		out = append(out, `,"availability":"`...)
		out = append(out, sp.bands.bandOf(id)...)
		out = append(out, '"')
		prev = at.close
	}
	out = append(out, v[prev:]...)
	sp.out = out
	return out, nil
}

// reencode is withAvailability by decoding and re-encoding v.
func (s *Service) reencode(sp *splicer, v []byte) ([]byte, error) {
	var p api.Product
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("cannot decode product: %w", err)
	}
	for i := range p.SKUs {
		p.SKUs[i].Availability = sp.bands.bandOf([]byte(p.SKUs[i].SKU))
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return nil, fmt.Errorf("cannot encode product: %w", err)
	}
	sp.out = append(sp.out[:0], b...)
	return sp.out, nil
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// findSKUs locates the SKU objects of the top-level "skus" array of the
// JSON object v, appending them to dst, when v has json.Marshal's layout
// of an api.Product: "skus" last (see findLastSKUs). ok is false unless
// every SKU is a non-empty object with a string "sku" and no
// "availability" key, and nothing follows v but white space; the caller
// then re-encodes v with goccy (issue 16: one hand-written path, for the
// layout the core writes, and goccy behind it).
func findSKUs(v []byte, dst []skuAt) (_ []skuAt, ok bool) {
	return findLastSKUs(v, dst)
}

// skusKey is how json.Marshal writes the key of a product's SKU array.
var skusKey = []byte(`"skus":[`)

// findLastSKUs is findSKUs for a product whose last key is "skus", as
// json.Marshal writes an api.Product, without walking the description and
// attributes before it (most of a product's bytes). Outside of strings
// skusKey can only be that key: the schema has no other array-valued
// "skus", and inside a string every quote is escaped. ok is false unless
// the array found is followed by the object's end.
func findLastSKUs(v []byte, dst []skuAt) (_ []skuAt, ok bool) {
	i := lastArrayKey(v, skusKey)
	if i < 1 || v[i-1] == '\\' {
		return dst, false
	}
	j := i - 1
	for j > 0 && (v[j] == ' ' || v[j] == '\t' || v[j] == '\n' || v[j] == '\r') {
		j--
	}
	if v[j] != ',' && v[j] != '{' {
		return dst, false
	}
	sc := jscan{b: v, i: i + len(skusKey) - 1}
	dst, err := sc.skus(dst)
	if err != nil {
		return dst, false
	}
	sc.ws()
	if sc.peek() != '}' {
		return dst, false
	}
	sc.i++
	sc.ws()
	return dst, sc.i == len(v)
}

// lastArrayKey is bytes.LastIndex(v, key) for a key ending in '[', which
// JSON has few of: it hops from '[' to '[' backwards instead of hashing
// every byte (bytes.LastIndex's Rabin-Karp was a tenth of a snapshot's CPU).
func lastArrayKey(v, key []byte) int {
	n := len(key)
	for end := len(v); ; {
		j := bytes.LastIndexByte(v[:end], '[')
		if j < 0 {
			return -1
		}
		if j+1 >= n && bytes.Equal(v[j+1-n:j+1], key) {
			return j + 1 - n
		}
		end = j
	}
}

// skus walks the SKU array at s.i, appending each SKU's location to dst.
func (s *jscan) skus(dst []skuAt) ([]skuAt, error) {
	err := s.array(func() error {
		at := skuAt{idStart: -1}
		n := 0
		err := s.object(func(key []byte) error {
			n++
			switch string(key) {
			case "sku":
				s.ws()
				if s.peek() != '"' {
					return errSplice
				}
				at.idStart = s.i
				if err := s.str(); err != nil {
					return err
				}
				at.idEnd = s.i
				return nil
			case "availability":
				return errSplice
			}
			return s.skip()
		})
		if err != nil || n == 0 || at.idStart < 0 {
			return errSplice
		}
		at.close = s.i - 1 // object leaves s after its '}'
		dst = append(dst, at)
		return nil
	})
	return dst, err
}

var errSplice = errors.New("not a stored product")

// jscan walks JSON without decoding it.
type jscan struct {
	b []byte
	i int
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str moves past the string token at s.i. It looks for quotes with
// bytes.IndexByte (descriptions make strings most of a product's bytes);
// a quote is escaped when an odd number of backslashes precede it.
func (s *jscan) str() error {
	if s.peek() != '"' {
		return errSplice
	}
	i := s.i + 1
	for {
		j := bytes.IndexByte(s.b[i:], '"')
		if j < 0 {
			return errSplice
		}
		q := i + j
		n := 0
		for k := q - 1; k > s.i && s.b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			s.i = q + 1
			return nil
		}
		i = q + 1
	}
}

// object walks the object at s.i, calling fn with each key (its raw bytes,
// unescaped only when it has no escapes) with s.i at the value.
func (s *jscan) object(fn func(key []byte) error) error {
	s.ws()
	if s.peek() != '{' {
		return errSplice
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		start := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := s.b[start+1 : s.i-1]
		s.ws()
		if s.peek() != ':' {
			return errSplice
		}
		s.i++
		if err := fn(key); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errSplice
		}
	}
}

// array walks the array at s.i, calling fn with s.i at each element.
func (s *jscan) array(fn func() error) error {
	s.ws()
	if s.peek() != '[' {
		return errSplice
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errSplice
		}
	}
}

// skip moves past the value at s.i.
func (s *jscan) skip() error {
	s.ws()
	switch c := s.peek(); {
	case c == '"':
		return s.str()
	case c == '{':
		return s.object(func([]byte) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == 0:
		return errSplice
	}
	start := s.i // number, true, false, null
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if s.i == start {
				return errSplice
			}
			return nil
		}
		s.i++
	}
	return errSplice
}
