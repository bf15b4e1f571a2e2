package search

import (
	"encoding/binary"
	"unsafe"
)

// arena holds the products' blobs in chunks: appending never copies what
// is there, and bytes once written are never written again, so strings
// pointing into an arena (an answer's names and ids) stay valid after
// the index moves on. A blob is addressed by a uint32 offset
// (chunk*arenaChunk + position) and never spans chunks.
type arena struct {
	chunks  [][]byte
	size    int // bytes of live blobs
	garbage int // bytes of replaced or deleted blobs
}

const arenaChunk = 1 << 22

// add appends b and returns its offset.
func (a *arena) add(b []byte) uint32 {
	if len(b) > arenaChunk {
		panic("BUG: blob larger than an arena chunk")
	}
	k := len(a.chunks) - 1
	if k < 0 || len(a.chunks[k])+len(b) > arenaChunk {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
		k++
	}
	c := a.chunks[k]
	off := uint32(k*arenaChunk + len(c))
	a.chunks[k] = append(c, b...)
	a.size += len(b)
	return off
}

// at returns the bytes from off to the end of its chunk.
func (a *arena) at(off uint32) []byte {
	return a.chunks[off/arenaChunk][off%arenaChunk:]
}

// drop accounts for a blob of n bytes no longer used.
func (a *arena) drop(n int) { a.size -= n; a.garbage += n }

// bytes returns the memory the arena holds.
func (a *arena) bytes() int { return len(a.chunks) * arenaChunk }

// The text blob of a product: uvarint lengths of id, name, slug (empty
// when api.Slug derives it) and image file (the image URL after its last
// '/'), then uvarint ids of the image directory and currency (interned),
// then the four strings' bytes.
type blob struct {
	id, name, slug, file string
	dir, cur             uint32
	size                 int
}

func appendBlob(dst []byte, b *blob) []byte {
	for _, s := range [...]string{b.id, b.name, b.slug, b.file} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
	}
	dst = binary.AppendUvarint(dst, uint64(b.dir))
	dst = binary.AppendUvarint(dst, uint64(b.cur))
	for _, s := range [...]string{b.id, b.name, b.slug, b.file} {
		dst = append(dst, s...)
	}
	return dst
}

// readBlob decodes the blob at the start of p; its strings point into p.
func readBlob(p []byte) blob {
	var lens [4]int
	i := 0
	for k := range lens {
		v, n := binary.Uvarint(p[i:])
		lens[k], i = int(v), i+n
	}
	dir, n := binary.Uvarint(p[i:])
	i += n
	cur, n := binary.Uvarint(p[i:])
	i += n
	var s [4]string
	for k, l := range lens {
		if l > 0 {
			s[k] = unsafe.String(&p[i], l)
		}
		i += l
	}
	return blob{id: s[0], name: s[1], slug: s[2], file: s[3], dir: uint32(dir), cur: uint32(cur), size: i}
}

// readBlobID returns the id of the blob at the start of p.
func readBlobID(p []byte) string {
	l, i := binary.Uvarint(p)
	for range 3 {
		for p[i] >= 0x80 {
			i++
		}
		i++
	}
	for range 2 {
		for p[i] >= 0x80 {
			i++
		}
		i++
	}
	if l == 0 {
		return ""
	}
	return unsafe.String(&p[i], int(l))
}

// appendList appends ascending ids as a uvarint count and deltas.
func appendList(dst []byte, ids []uint32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	prev := uint32(0)
	for _, v := range ids {
		dst = binary.AppendUvarint(dst, uint64(v-prev))
		prev = v
	}
	return dst
}

// readList appends the ids of the list at the start of p to dst and
// returns them with the list's size in bytes.
func readList(dst []uint32, p []byte) ([]uint32, int) {
	n, i := binary.Uvarint(p)
	v := uint32(0)
	for range n {
		d, k := binary.Uvarint(p[i:])
		i += k
		v += uint32(d)
		dst = append(dst, v)
	}
	return dst, i
}

// interner gives small ids to repeated strings (image directories,
// currencies).
type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() interner {
	return interner{ids: map[string]uint32{"": 0}, strs: []string{""}}
}

func (in *interner) id(s string) uint32 {
	if v, ok := in.ids[s]; ok {
		return v
	}
	s = string([]byte(s)) // own copy
	v := uint32(len(in.strs))
	in.ids[s] = v
	in.strs = append(in.strs, s)
	return v
}
