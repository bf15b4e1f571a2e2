package pages

import "encoding/binary"

// Entry is one stored representation as read from the cache. Its slices
// point into the buffer passed to Cache.Lookup and are valid as long as it.
type Entry struct {
	ETag         []byte
	SurrogateKey []byte
	Body         []byte
}

// Cache value layout of one representation:
//
//	[1]  len(etag)   [etag]
//	[2]  len(surrogate key) big-endian   [surrogate key]
//	[…]  body
//
// Cache keys are {variant}{id} for values stored with Set and
// {variant|bigFlag}{id} for values over maxSmall stored with SetBig.
const (
	bigFlag  = 0x80
	maxSmall = 60 << 10 // fastcache drops Set entries of 64 KiB or more
)

// appendKey appends the cache key of id's representation v to dst.
func appendKey(dst []byte, v Variant, id []byte) []byte {
	dst = append(dst, byte(v))
	return append(dst, id...)
}

func appendEntry(dst []byte, r *Rendered, v Variant) []byte {
	dst = append(dst, byte(len(r.ETags[v])))
	dst = append(dst, r.ETags[v]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.SurrogateKey)))
	dst = append(dst, r.SurrogateKey...)
	return append(dst, r.Bodies[v]...)
}

// parseEntry splits a stored value; ok is false for a malformed one.
func parseEntry(b []byte) (e Entry, ok bool) {
	if len(b) < 1 {
		return e, false
	}
	n := int(b[0])
	if len(b) < 1+n+2 {
		return e, false
	}
	e.ETag = b[1 : 1+n]
	b = b[1+n:]
	m := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+m {
		return e, false
	}
	e.SurrogateKey = b[2 : 2+m]
	e.Body = b[2+m:]
	return e, true
}

// EntryOf returns the Entry of r's representation v, sharing r's bytes.
func (r *Rendered) EntryOf(v Variant) Entry {
	return Entry{ETag: r.ETags[v], SurrogateKey: r.SurrogateKey, Body: r.Bodies[v]}
}
