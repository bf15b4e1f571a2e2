package httpapi

import "testing"

func TestCheckID(t *testing.T) {
	f := func(v string, ok bool) {
		t.Helper()
		if got := checkID([]byte(v)) == ""; got != ok {
			t.Fatalf("checkID(%q) ok=%v, want %v", v, got, ok)
		}
	}
	f("1502983", true)
	f("tomtom-go-500-5-gps-1502983", true)
	f("a.b_c~d-E", true)
	f("", false)
	f("a..b", false)
	f("a/b", false)
	f("é", false)
	f("a b", false)
	f(string(make([]byte, 129)), false)
}
