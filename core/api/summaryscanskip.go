package api

// skipValue skips the JSON value at s[i], validating it, and returns the
// index after it.
func skipValue(s []byte, i, depth int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '"':
		end, _, _, ok := scanString(s, i+1)
		return end + 1, ok
	case c == '{':
		return skipObject(s, i, depth+1)
	case c == '[':
		return skipArray(s, i, depth+1)
	case c == 't':
		return i + 4, len(s)-i >= 4 && string(s[i:i+4]) == "true"
	case c == 'f':
		return i + 5, len(s)-i >= 5 && string(s[i:i+5]) == "false"
	case c == 'n':
		return i + 4, isNull(s, i)
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(s, i)
	}
	return 0, false
}

func skipObject(s []byte, i, depth int) (int, bool) {
	if depth > maxSkipDepth {
		return 0, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return 0, false
		}
		end, _, _, ok := scanString(s, i+1)
		if !ok {
			return 0, false
		}
		i = skipWS(s, end+1)
		if i >= len(s) || s[i] != ':' {
			return 0, false
		}
		if i, ok = skipValue(s, skipWS(s, i+1), depth); !ok {
			return 0, false
		}
		if i, ok = nextMember(s, i); !ok {
			return 0, false
		}
		if s[i] == '}' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

func skipArray(s []byte, i, depth int) (int, bool) {
	if depth > maxSkipDepth {
		return 0, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = skipValue(s, i, depth); !ok {
			return 0, false
		}
		if i, ok = nextElem(s, i); !ok {
			return 0, false
		}
		if s[i] == ']' {
			return i + 1, true
		}
		i = skipWS(s, i+1)
	}
}

// skipNumber skips -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s[i].
func skipNumber(s []byte, i int) (int, bool) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
