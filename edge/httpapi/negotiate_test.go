package httpapi

import "testing"

func TestAcceptsGzip(t *testing.T) {
	f := func(ae string, want bool) {
		t.Helper()
		if got := acceptsGzip([]byte(ae)); got != want {
			t.Fatalf("acceptsGzip(%q) = %v, want %v", ae, got, want)
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
		if got := etagMatches([]byte(inm), []byte(etag)); got != want {
			t.Fatalf("etagMatches(%q, %q) = %v, want %v", inm, etag, got, want)
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

func FuzzAcceptsGzip(f *testing.F) {
	f.Add("gzip;q=0.5, br")
	f.Fuzz(func(t *testing.T, ae string) {
		_ = acceptsGzip([]byte(ae))
		_ = etagMatches([]byte(ae), []byte(`"x"`))
	})
}
