package suggest

import (
	"math"
	"unsafe"
)

// Stats describes the index.
type Stats struct {
	Products int   // live products
	Terms    int   // distinct words
	Prefixes int   // distinct prefixes
	Bytes    int64 // estimated heap bytes of the index
}

// BytesPerProduct returns Bytes / Products (0 without products).
func (s Stats) BytesPerProduct() int {
	if s.Products == 0 {
		return 0
	}
	return int(s.Bytes / int64(s.Products))
}

// Stats returns the current index's statistics.
func (s *Service) Stats() Stats {
	x := s.idx.Load()
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.stats()
}

func (x *index) stats() Stats {
	const u32, hdr = 4, int64(unsafe.Sizeof([]uint32{}))
	st := Stats{Products: x.live, Terms: len(x.termHash), Prefixes: len(x.pfxHash)}
	b := int64(cap(x.recs)) * int64(unsafe.Sizeof(record{}))
	b += int64(cap(x.tx.blobs)) + int64(len(x.ids.s))*u32 + int64(cap(x.seen))*8
	b += int64(cap(x.meta)) * int64(unsafe.Sizeof(meta{}))
	for _, s := range x.tx.strs {
		b += int64(len(s)) + 48 // string, map entry
	}
	for _, s := range x.tx.cats {
		b += int64(len(s)) + 48
	}
	b += int64(cap(x.termArena)) + u32*int64(cap(x.termOff)+cap(x.termHash)+len(x.termSlots.s)+cap(x.termPfx)+cap(x.termPfxOff))
	b += int64(cap(x.pfxLen)) + u32*int64(cap(x.pfxTerm)+cap(x.pfxHash)+len(x.pfxSlots.s)+cap(x.pfxCount)+cap(x.pfxLo)+cap(x.pfxHi))
	b += 8*int64(cap(x.pfxKids)) + 12*int64(len(x.edges.keys))
	for t := range x.termPost {
		b += hdr + u32 + int64(cap(x.termPost[t]))
	}
	for _, d := range x.termDelta {
		b += 64 + u32*int64(cap(d.add)+cap(d.del))
	}
	for p := range x.pfxList {
		b += 2*hdr + int64(cap(x.pfxList[p]))*int64(unsafe.Sizeof(entry{})) + int64(cap(x.pfxTerms[p]))*u32
	}
	st.Bytes = b
	return st
}

func float64bits(f float64) uint64     { return math.Float64bits(f) }
func float64frombits(u uint64) float64 { return math.Float64frombits(u) }
