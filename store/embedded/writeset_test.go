package embedded

import (
	"bytes"
	"fmt"
	"testing"
)

// TestWriteSetFindsEveryKey checks the write set against a map while it
// grows past the linear-search limit, with overwrites and deletions, and
// that sorted returns each key once in order.
func TestWriteSetFindsEveryKey(t *testing.T) {
	for _, n := range []int{1, wsLinear, wsLinear + 1, 500} {
		w := newWriteSet(new(arena))
		want := map[string]string{}
		for round := 0; round < 2; round++ {
			for i := 0; i < n; i++ {
				k := fmt.Sprintf("key/%04d", (i*7919)%n)
				v := fmt.Sprintf("v%d-%d", round, i)
				del := round == 1 && i%3 == 0
				w.put([]byte(k), []byte(v), del)
				if del {
					want[k] = "<del>"
				} else {
					want[k] = v
				}
			}
		}
		if w.len() != len(want) {
			t.Fatalf("n=%d: %d entries, want %d", n, w.len(), len(want))
		}
		for k, v := range want {
			i := w.find([]byte(k))
			if i < 0 {
				t.Fatalf("n=%d: %s not found", n, k)
			}
			e := w.ents[i]
			got := string(e.v)
			if e.del {
				got = "<del>"
			}
			if got != v {
				t.Fatalf("n=%d: %s = %q, want %q", n, k, got, v)
			}
		}
		if w.find([]byte("absent")) >= 0 {
			t.Fatalf("n=%d: absent key found", n)
		}
		s := w.sortedOwn(nil)
		for i := 1; i < len(s); i++ {
			if bytes.Compare(s[i-1].k, s[i].k) >= 0 {
				t.Fatalf("n=%d: sorted out of order at %d: %s, %s", n, i, s[i-1].k, s[i].k)
			}
		}
		w.reset()
		if w.len() != 0 || w.find([]byte("key/0000")) >= 0 {
			t.Fatalf("n=%d: reset left entries", n)
		}
	}
}

// TestWriteSetCopies checks that the set owns its copies: changing the
// caller's slices after put changes nothing stored.
func TestWriteSetCopies(t *testing.T) {
	w := newWriteSet(new(arena))
	k, v := []byte("k1"), []byte("value")
	w.put(k, v, false)
	k[0], v[0] = 'x', 'x'
	i := w.find([]byte("k1"))
	if i < 0 || string(w.ents[i].v) != "value" {
		t.Fatalf("stored entry changed with the caller's slices: %d", i)
	}
}
