package pages

import (
	"math/rand/v2"
	"testing"
)

// TestHashTableMatchesMap runs random puts and deletes on a hashTable and
// a Go map side by side; hashes are drawn from a small range so probe runs
// collide, wrap around the table's end and shift back on delete.
func TestHashTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, keys := range []uint64{8, 100, 5000} {
		var ht hashTable
		m := make(map[uint64]uint32)
		for op := 0; op < 200_000; op++ {
			// Small keys share their low bits: long runs; the high bit
			// lands them anywhere, and keys near the top wrap around.
			h := 1 + rng.Uint64N(keys)
			if rng.IntN(2) == 0 {
				h |= uint64(rng.IntN(2)) << 63
			}
			switch r := rng.IntN(10); {
			case r < 5:
				v := rng.Uint32()
				old, had := ht.put(h, v)
				want, wantHad := m[h]
				if had != wantHad || (had && old != want) {
					t.Fatalf("put %x: old %d %v, want %d %v", h, old, had, want, wantHad)
				}
				m[h] = v
			case r < 8:
				ht.del(h)
				delete(m, h)
			default:
				got, ok := ht.get(h)
				want, wantOk := m[h]
				if ok != wantOk || got != want {
					t.Fatalf("get %x: %d %v, want %d %v", h, got, ok, want, wantOk)
				}
			}
			if ht.len() != len(m) {
				t.Fatalf("len %d, want %d", ht.len(), len(m))
			}
		}
		for h, want := range m {
			if got, ok := ht.get(h); !ok || got != want {
				t.Fatalf("final get %x: %d %v, want %d", h, got, ok, want)
			}
		}
		if len(ht.e)*maxLoad < ht.len()*4 {
			t.Fatalf("table of %d holds %d entries", len(ht.e), ht.len())
		}
	}
}

// TestHashTableReserve checks a reserved table takes its entries without
// growing again.
func TestHashTableReserve(t *testing.T) {
	var ht hashTable
	ht.reserve(1000)
	size := len(ht.e)
	for h := uint64(1); h <= 1000; h++ {
		ht.put(h*0x9e3779b97f4a7c15|1, uint32(h))
	}
	if len(ht.e) != size {
		t.Fatalf("grew from %d to %d after reserving 1000", size, len(ht.e))
	}
	for h := uint64(1); h <= 1000; h++ {
		if i, ok := ht.get(h*0x9e3779b97f4a7c15 | 1); !ok || i != uint32(h) {
			t.Fatalf("get %d: %d %v", h, i, ok)
		}
	}
}
