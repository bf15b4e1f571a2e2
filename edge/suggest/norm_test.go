package suggest

import "testing"

func TestCapLen(t *testing.T) {
	f := func(w string, max, want int) {
		t.Helper()
		if got := capLen([]byte(w), max); got != want {
			t.Fatalf("capLen(%q, %d) = %d, want %d", w, max, got, want)
		}
	}
	f("samsung", 3, 3)
	f("sam", 12, 3)
	f("ßßßß", 2, 4)
	f("aßb", 2, 3)
	f("aßb", 3, 4)
}
