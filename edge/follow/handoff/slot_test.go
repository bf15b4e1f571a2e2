package handoff

import "testing"

// TestSlot: Take returns what FinishLoad stored for the same seq once,
// builds when nothing (or another snapshot's result) is stored, and Reset
// drops a stored result. It fails if Take ignores the seq (a stale index
// from an abandoned snapshot would be swapped in) or returns a result twice.
func TestSlot(t *testing.T) {
	var b Slot[string]
	builds := 0
	build := func(seq uint64) {
		builds++
		v := "built"
		b.Put(seq, &v)
	}
	v := "finished"
	b.Put(7, &v)
	if got := b.Take(7, build); got == nil || *got != "finished" || builds != 0 {
		t.Fatalf("Take(7) after Put(7) = %v, builds %d", got, builds)
	}
	if got := b.Take(7, build); got == nil || *got != "built" || builds != 1 {
		t.Fatalf("second Take(7) = %v, builds %d; want a fresh build", got, builds)
	}
	b.Put(6, &v) // an abandoned snapshot's result
	if got := b.Take(7, build); got == nil || *got != "built" || builds != 2 {
		t.Fatalf("Take(7) after Put(6) = %v, builds %d; want a build for 7", got, builds)
	}
	b.Put(7, &v)
	b.Reset()
	if got := b.Take(7, func(uint64) {}); got != nil {
		t.Fatalf("Take after Reset with nothing built = %v, want nil", *got)
	}
}
