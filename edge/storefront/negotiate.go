package storefront

import "bytes"

// Header names and values, kept as bytes so that the hit path allocates
// nothing.
var (
	hETag            = []byte("ETag")
	hCacheControl    = []byte("Cache-Control")
	hSurrogateKey    = []byte("Surrogate-Key")
	hVary            = []byte("Vary")
	hContentEncoding = []byte("Content-Encoding")
	hStale           = []byte("X-Shopedge-Stale")
	hReferrerPolicy  = []byte("Referrer-Policy")
	hAcceptEncoding  = []byte("Accept-Encoding")
	hIfNoneMatch     = []byte("If-None-Match")
	vAcceptEncoding  = []byte("Accept-Encoding")
	vGzip            = []byte("gzip")
	vOne             = []byte("1")
	vNoReferrer      = []byte("no-referrer")
	ctHTML           = []byte("text/html; charset=utf-8")
)

// acceptsGzip reports whether an Accept-Encoding value allows gzip: gzip
// (or x-gzip) with q > 0, or "*" with q > 0 and gzip not listed. It
// does not allocate.
func acceptsGzip(ae []byte) bool {
	star := false
	for len(ae) > 0 {
		var item []byte
		item, ae = cut(ae, ',')
		coding, params := cut(item, ';')
		coding = bytes.TrimSpace(coding)
		q := qNonZero(params)
		switch {
		case equalFold(coding, "gzip"), equalFold(coding, "x-gzip"):
			return q
		case len(coding) == 1 && coding[0] == '*':
			star = q
		}
	}
	return star
}

// qNonZero reports whether an Accept-Encoding item's parameters leave a
// q-value above zero (no q means 1; a malformed one means 0).
func qNonZero(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params = cut(params, ';')
		p = bytes.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') {
			continue
		}
		val := bytes.TrimSpace(p[1:])
		if len(val) == 0 || val[0] != '=' {
			continue
		}
		for _, c := range bytes.TrimSpace(val[1:]) {
			if c >= '1' && c <= '9' {
				return true
			}
			if c != '0' && c != '.' {
				return false
			}
		}
		return false
	}
	return true
}

// etagMatches implements If-None-Match's weak comparison: "*" or a listed
// entity tag equal to etag, W/ prefixes ignored.
func etagMatches(inm, etag []byte) bool {
	for len(inm) > 0 {
		var tag []byte
		tag, inm = cut(inm, ',')
		tag = bytes.TrimSpace(tag)
		if len(tag) == 1 && tag[0] == '*' {
			return true
		}
		if len(tag) > 2 && tag[0] == 'W' && tag[1] == '/' {
			tag = tag[2:]
		}
		if len(tag) > 0 && bytes.Equal(tag, etag) {
			return true
		}
	}
	return false
}

func cut(b []byte, sep byte) (before, after []byte) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
