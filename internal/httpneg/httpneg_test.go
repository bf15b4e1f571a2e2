package httpneg

import "testing"

func TestAcceptsGzip(t *testing.T) {
	f := func(ae string, want bool) {
		t.Helper()
		if got := AcceptsGzip([]byte(ae)); got != want {
			t.Fatalf("AcceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
	f("", false)
	f("gzip", true)
	f(" gzip ", true)
	f("gzip;q=1.0", true)
	f("gzip; q=0.001", true)
	f("gzip;q=0", false)
	f("gzip;Q=0.0", false)
	f("br;q=1, gzip;q=0", false)
	f("*", true)
	f("*;q=0", false)
	f("gzip;q=0,*", false)
	f("deflate", false)
	f("gzipx", false)
	f("gzip;level=1", true)
	f("x-gzip;q=0.5", true)
}

func TestETagMatches(t *testing.T) {
	f := func(inm, etag string, want bool) {
		t.Helper()
		if got := ETagMatches([]byte(inm), []byte(etag)); got != want {
			t.Fatalf("ETagMatches(%q, %q) = %v, want %v", inm, etag, got, want)
		}
	}
	f(`"abc"`, `"abc"`, true)
	f(`W/"abc"`, `"abc"`, true)
	f(`"x", "abc"`, `"abc"`, true)
	f(`"x",W/"abc"`, `"abc"`, true)
	f(`*`, `"abc"`, true)
	f(``, `"abc"`, false)
	f(`"ab"`, `"abc"`, false)
	f(`abc`, `"abc"`, false)
	f(`"abc`, `"abc"`, false)
}

func TestAllocatesNothing(t *testing.T) {
	ae, inm, etag := []byte("br;q=1, gzip;q=0.5"), []byte(`"x", W/"abc"`), []byte(`"abc"`)
	if n := testing.AllocsPerRun(100, func() { _, _ = AcceptsGzip(ae), ETagMatches(inm, etag) }); n != 0 {
		t.Fatalf("%v allocations per call, want 0", n)
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	f.Add("gzip;q=0.5, br")
	f.Fuzz(func(t *testing.T, ae string) {
		_ = AcceptsGzip([]byte(ae))
		_ = ETagMatches([]byte(ae), []byte(`"x"`))
	})
}
