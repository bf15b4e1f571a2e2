// Package httpneg answers the two negotiation questions every cached
// answer of the edge asks, without allocating: does the client take gzip
// (Accept-Encoding), and does its If-None-Match name the answer's ETag.
package httpneg

// AcceptsGzip reports whether an Accept-Encoding value allows gzip: gzip
// (or x-gzip) listed with q > 0, or "*" with q > 0 and gzip not listed.
func AcceptsGzip(ae []byte) bool {
	star := false
	for len(ae) > 0 {
		var item []byte
		item, ae = cut(ae, ',')
		coding, params := cut(item, ';')
		coding = trim(coding)
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

// qNonZero reports whether the params of one Accept-Encoding item leave a
// q-value above zero (no q means 1).
func qNonZero(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params = cut(params, ';')
		p = trim(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') {
			continue
		}
		val := trim(p[1:])
		if len(val) == 0 || val[0] != '=' {
			continue
		}
		val = trim(val[1:])
		for _, c := range val {
			if c >= '1' && c <= '9' {
				return true
			}
			if c != '0' && c != '.' {
				return false // malformed: treat as not acceptable
			}
		}
		return false
	}
	return true
}

// ETagMatches implements If-None-Match's weak comparison: "*" or any
// listed entity tag equal to etag, ignoring W/ prefixes.
func ETagMatches(inm, etag []byte) bool {
	if len(inm) == 0 {
		return false
	}
	if len(etag) > 2 && etag[0] == 'W' && etag[1] == '/' {
		etag = etag[2:]
	}
	for len(inm) > 0 {
		var tag []byte
		tag, inm = cut(inm, ',')
		tag = trim(tag)
		if len(tag) == 1 && tag[0] == '*' {
			return true
		}
		if len(tag) > 2 && tag[0] == 'W' && tag[1] == '/' {
			tag = tag[2:]
		}
		if string(tag) == string(etag) {
			return true
		}
	}
	return false
}

func cut(b []byte, sep byte) (before, after []byte) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
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
