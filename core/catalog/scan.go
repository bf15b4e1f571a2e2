package catalog

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
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
// only until fn returns. fn runs on a goroutine of its own, one call at a
// time, while tx reads ahead; it must not use tx. An error from fn stops
// the scan and is returned.
//
// Popularity order lets a reader whose cache cannot hold the whole catalog
// keep the products that are asked for most. It costs a first pass over
// the products for their popularity (a few bytes each are kept) and a
// point read per product in the second.
//
// It splices each SKU's availability into the stored JSON (the product
// as json.Marshal wrote it, without availability, which json.Marshal puts
// last in a SKU) instead of decoding and re-encoding the product: at a
// million products that was most of the core's share of an edge's cold
// start. A stored value it does not recognise goes the decoding way.
func (s *Service) ScanProductJSON(tx store.Txn, fn func(json []byte) error) error {
	start := []byte(store.NSProduct)
	type entry struct {
		pop      int64
		off, end uint32 // of the key in keys
	}
	var keys []byte
	var order []entry
	err := tx.Scan(start, store.PrefixEnd(start), 0, func(k, v []byte) error {
		pop, err := popularity(v)
		if err != nil {
			return fmt.Errorf("cannot read the popularity of product %s: %w", k[len(start):], err)
		}
		off := uint32(len(keys))
		keys = append(keys, k...)
		order = append(order, entry{pop, off, uint32(len(keys))})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(order, func(a, b entry) int { return cmp.Compare(b.pop, a.pop) })
	var sp splicer
	if sp.bands, err = s.readBands(tx); err != nil {
		return err
	}
	// Two stages: this goroutine reads the products (tx is not shared:
	// values read by Get stay valid until the transaction ends), a second
	// one splices availability in and calls fn, a batch at a time.
	batches := make(chan [][]byte, 4)
	free := make(chan [][]byte, 5)
	for range 5 {
		free <- make([][]byte, 0, scanBatch)
	}
	done := make(chan error, 1)
	quit := make(chan struct{})
	go func() {
		defer close(done)
		for b := range batches {
			for _, v := range b {
				out, err := s.withAvailability(&sp, v)
				if err == nil {
					err = fn(out)
				}
				if err != nil {
					done <- err
					close(quit)
					for range batches { // let the reader finish
					}
					return
				}
			}
			free <- b[:0]
		}
	}()
	var readErr error
	b := <-free
read:
	for _, e := range order {
		k := keys[e.off:e.end]
		v, err := tx.Get(k)
		if err != nil {
			readErr = fmt.Errorf("cannot read product %s: %w", k[len(start):], err)
			break
		}
		if b = append(b, v); len(b) == scanBatch {
			batches <- b
			select {
			case b = <-free:
			case <-quit:
				b = nil
				break read
			}
		}
	}
	if readErr == nil && len(b) > 0 {
		batches <- b
	}
	close(batches)
	if err := <-done; err != nil {
		return err
	}
	return readErr
}

// scanBatch is the number of products ScanProductJSON hands from its
// reading to its splicing stage at a time.
const scanBatch = 256

// popularity returns the top-level "popularity" of the stored product v.
func popularity(v []byte) (int64, error) {
	sc := jscan{b: v}
	var pop int64
	found := false
	err := sc.object(func(key []byte) error {
		if string(key) != "popularity" {
			return sc.skip()
		}
		sc.ws()
		start := sc.i
		if err := sc.skip(); err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(v[start:sc.i]), 10, 64)
		if err != nil {
			return errSplice
		}
		pop, found = n, true
		return errFound
	})
	if err == nil && !found {
		return 0, nil // absent: 0, as decoding would give
	}
	if err == errFound {
		return pop, nil
	}
	var p struct {
		Popularity int64 `json:"popularity"`
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return 0, err
	}
	return p.Popularity, nil
}

// errFound stops a jscan walk once it found what it looked for.
var errFound = errors.New("found")

// splicer holds the reusable buffers of ScanProductJSON and the bands
// of every SKU.
type splicer struct {
	out   []byte
	skus  []skuAt
	bands *stockBands
}

// stockBands is the availability band of every SKU with a stock record,
// read in one pass over the stock records: a point read per SKU cost
// about 3 µs in a million-product store, the pass and a binary search
// well under one. It holds ~13 bytes per SKU.
type stockBands struct {
	skus  []byte   // the SKU ids, in key order
	ends  []uint32 // SKU i is skus[ends[i-1]:ends[i]]
	bands []string
	out   string // the band of a SKU without a stock record
}

// readBands reads the band of every SKU in tx.
func (s *Service) readBands(tx store.Txn) (*stockBands, error) {
	b := &stockBands{out: s.cfg.Band(0)}
	start := []byte(store.NSStock)
	err := tx.Scan(start, store.PrefixEnd(start), 0, func(k, v []byte) error {
		sku := k[len(start):]
		if len(v) != stockLen {
			_, err := decodeStock(string(sku), v)
			return err
		}
		available := int64(binary.BigEndian.Uint64(v)) - int64(binary.BigEndian.Uint64(v[8:])) - int64(binary.BigEndian.Uint64(v[16:]))
		b.skus = append(b.skus, sku...)
		b.ends = append(b.ends, uint32(len(b.skus)))
		b.bands = append(b.bands, s.cfg.Band(available))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read stock: %w", err)
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

// band returns the band of sku. (A map from SKU hashes measured slower at
// a million products: building it, and its misses, cost more than the
// binary search's.)
func (b *stockBands) band(sku []byte) string {
	i := sort.Search(len(b.ends), func(i int) bool { return bytes.Compare(b.sku(i), sku) >= 0 })
	if i < len(b.ends) && bytes.Equal(b.sku(i), sku) {
		return b.bands[i]
	}
	return b.out
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
		out = append(out, sp.bands.band(id)...)
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
		p.SKUs[i].Availability = sp.bands.band([]byte(p.SKUs[i].SKU))
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
// JSON object v, appending them to dst. ok is false unless v is an object
// whose every SKU is a non-empty object with a string "sku" and no
// "availability" key, and nothing follows v but white space.
func findSKUs(v []byte, dst []skuAt) (_ []skuAt, ok bool) {
	n := len(dst)
	if dst, ok = findLastSKUs(v, dst); ok {
		return dst, true
	}
	return walkSKUs(v, dst[:n])
}

// walkSKUs is findSKUs walking the whole object.
func walkSKUs(v []byte, dst []skuAt) (_ []skuAt, ok bool) {
	sc := jscan{b: v}
	err := sc.object(func(key []byte) error {
		if string(key) != "skus" {
			return sc.skip()
		}
		var err error
		dst, err = sc.skus(dst)
		return err
	})
	if err != nil {
		return dst, false
	}
	sc.ws()
	return dst, sc.i == len(v)
}

// skusKey is how json.Marshal writes the key of a product's SKU array.
var skusKey = []byte(`"skus":[`)

// findLastSKUs is findSKUs for a product whose last key is "skus", as
// json.Marshal writes an api.Product, without walking the description and
// attributes before it (most of a product's bytes). Outside of strings
// skusKey can only be that key: the schema has no other array-valued
// "skus", and inside a string every quote is escaped. ok is false unless
// the array found is followed by the object's end: the caller then walks
// the whole object.
func findLastSKUs(v []byte, dst []skuAt) (_ []skuAt, ok bool) {
	// bytes.LastIndex goes byte by byte: look in the tail first, where
	// the key of a product of a few SKUs is.
	i := -1
	if tail := len(v) - 2048; tail > 0 {
		if j := bytes.LastIndex(v[tail:], skusKey); j >= 0 {
			i = tail + j
		}
	}
	if i < 0 {
		i = bytes.LastIndex(v, skusKey)
	}
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
