package suggest

import (
	"fmt"
	"math"
	"strings"

	"shopedge/core/api"
)

// texts holds the strings of an index's records: one append-only arena
// of blobs (see appendBlob) and tables of interned strings (brands, image
// directories, currencies; categories apart, as answers list them). A
// blob is never changed once written, so strings pointing into the arena
// stay valid after the index lets go of them: a replaced or deleted
// product's blob becomes garbage, and compact copies the live blobs into
// a new arena when garbage is over a third of it.
//
// While a snapshot loads, blobs go into chunks instead (see
// newLoadTexts): fixed-size buffers that are never copied as the load
// grows; build rewrites them into one arena (blobs) and drops them.
type texts struct {
	blobs       []byte
	chunks      [][]byte // non-nil while loading: offsets are chunk<<chunkBits | position
	garbage     int      // bytes of blobs no record references
	compactions int
	strs        []string          // interned strings: id+1 in record.ids
	strIDs      map[string]uint16 // string → id+1
	cats        []string          // category id → name
	catIDs      map[string]uint32 // category name → id
}

// maxInterned bounds the interned strings; later new ones stay in blobs.
const maxInterned = 1<<16 - 1

func newTexts() *texts {
	return &texts{strIDs: map[string]uint16{}, catIDs: map[string]uint32{}}
}

// chunkBits is log2 of a load chunk's size: a blob starts below it in its
// chunk, and a blob longer than a chunk gets a chunk of its own.
const chunkBits = 20

// newLoadTexts returns texts whose blobs go into chunks.
func newLoadTexts() *texts {
	tx := newTexts()
	tx.chunks = [][]byte{}
	return tx
}

// at returns the bytes from offset off on.
func (tx *texts) at(off uint32) []byte {
	if tx.chunks != nil {
		return tx.chunks[off>>chunkBits][off&(1<<chunkBits-1):]
	}
	return tx.blobs[off:]
}

// intern returns the id+1 of s, 0 when s is empty or the table is full.
func (tx *texts) intern(s string) uint16 {
	if s == "" {
		return 0
	}
	if id, ok := tx.strIDs[s]; ok {
		return id
	}
	if len(tx.strs) >= maxInterned {
		return 0
	}
	s = strings.Clone(s) // s may point into a reused buffer
	tx.strs = append(tx.strs, s)
	id := uint16(len(tx.strs))
	tx.strIDs[s] = id
	return id
}

// category returns the id+1 of category name, 0 for none.
func (tx *texts) category(name string) uint32 {
	if name == "" {
		return 0
	}
	id, ok := tx.catIDs[name]
	if !ok {
		id = uint32(len(tx.cats))
		name = strings.Clone(name) // name may point into a reused buffer
		tx.cats = append(tx.cats, name)
		tx.catIDs[name] = id
	}
	return id + 1
}

// record returns the record of p at sequence seq, its blob (with terms,
// ascending) appended to the arena. The slug is left out when derived
// if slugs is set (the build checks the loaded records' on every core).
func (tx *texts) record(p *product, seq uint64, terms []uint32, slugs bool) record {
	r, _ := tx.recordSize(p, seq, terms, slugs)
	return r
}

// recordSize is record that also returns the size of the blob.
func (tx *texts) recordSize(p *product, seq uint64, terms []uint32, slugs bool) (record, int) {
	r := record{cat: tx.category(p.leaf), price: p.price, score: p.score, seq: seq, flags: recLive}
	if p.has {
		r.flags |= recHas
	}
	text := p.text
	for k, f := range interned {
		if id := tx.intern(text[f]); id != 0 {
			r.ids[k], text[f] = id, ""
		}
	}
	if slugs && derivedSlug(text[fSlug], text[fName], text[fID]) {
		r.flags |= recSlugAuto
		text[fSlug] = ""
	}
	var size int
	r.off, size = tx.appendBlob(&text, terms)
	return r, size
}

// derivedSlug reports whether slug is api.Slug(name, id), building it in
// a stack buffer (ids are at most 128 bytes, the name part and its dash
// at most 82).
func derivedSlug(slug, name, id string) bool {
	if slug == "" || len(slug) > 82+len(id) {
		return false
	}
	var buf [256]byte
	return string(api.AppendSlug(buf[:0], name, id)) == slug
}

// appendBlob appends a blob and returns its offset and size.
func (tx *texts) appendBlob(text *[nFields]string, terms []uint32) (uint32, int) {
	if tx.chunks != nil {
		return tx.appendChunked(text, terms)
	}
	off := len(tx.blobs)
	if off > math.MaxUint32-1<<20 {
		panic(fmt.Sprintf("suggest: cannot index more than 4 GiB of product text (%d bytes)", off))
	}
	tx.blobs = appendBlob(tx.blobs, text, terms)
	return uint32(off), len(tx.blobs) - off
}

// appendChunked appends a blob to the last chunk, or to a new one when it
// does not fit: loading never copies what it has stored
// (growing one arena of a million products' blobs copied it 2.6 times
// over, 0.6 CPU-s at 1M products on the follower's goroutine).
func (tx *texts) appendChunked(text *[nFields]string, terms []uint32) (uint32, int) {
	size := blobSize(text, terms)
	n := len(tx.chunks)
	if n == 0 || len(tx.chunks[n-1])+size > cap(tx.chunks[n-1]) {
		if n >= 1<<(32-chunkBits) {
			panic(fmt.Sprintf("suggest: cannot index more than 4 GiB of product text (%d chunks)", n))
		}
		tx.chunks = append(tx.chunks, make([]byte, 0, max(1<<chunkBits, size)))
		n++
	}
	c := tx.chunks[n-1]
	off := uint32(n-1)<<chunkBits | uint32(len(c))
	tx.chunks[n-1] = appendBlob(c, text, terms)
	return off, size
}

// blob decodes r's blob.
func (tx *texts) blob(r *record) blob { return readBlobAt(tx.at(r.off)) }

// text returns field f of r (whose blob is b), interned or not; the slug
// when derived is not rebuilt (see url).
func (tx *texts) text(r *record, b *blob, f int) string {
	for k, g := range interned {
		if g == f && r.ids[k] != 0 {
			return tx.strs[r.ids[k]-1]
		}
	}
	return b.text[f]
}

func (tx *texts) id(r *record) string { return readBlobIDAt(tx.at(r.off)) }

// category name of r, "" for none.
func (tx *texts) categoryOf(r *record) string {
	if r.cat == 0 {
		return ""
	}
	return tx.cats[r.cat-1]
}

// appendURL appends r's page path, /products/{slug}, to dst.
func (tx *texts) appendURL(dst []byte, r *record, b *blob) []byte {
	dst = append(dst, "/products/"...)
	if r.flags&recSlugAuto != 0 {
		return api.AppendSlug(dst, b.text[fName], b.text[fID])
	}
	return append(dst, b.text[fSlug]...)
}

// appendImage appends r's image URL to dst.
func (tx *texts) appendImage(dst []byte, r *record, b *blob) []byte {
	return append(append(dst, tx.text(r, b, fImageDir)...), b.text[fImageFile]...)
}

// sameText reports whether p's strings are those of r (whose blob is b).
func (tx *texts) sameText(r *record, b *blob, p *product) bool {
	for f := range nFields {
		switch {
		case f == fSlug && r.flags&recSlugAuto != 0:
			if !derivedSlug(p.text[f], b.text[fName], b.text[fID]) {
				return false
			}
		case tx.text(r, b, f) != p.text[f]:
			return false
		}
	}
	return tx.categoryOf(r) == p.leaf
}
