package testpay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// clause is one term of a search query: field:value.
type clause struct {
	field string // "metadata", "status", "currency" or "amount"
	key   string // the metadata key
	value string
}

// maxQuery bounds a search query's length.
const maxQuery = 1000

// parseQuery reads the subset of Stripe's search query language that
// testpay answers: clauses joined by AND, each one of
//
//	metadata['key']:'value'   status:'succeeded'   currency:'usd'   amount:1999
//
// Values are single- or double-quoted strings with \-escapes (amount: an
// integer). Unlike Stripe's search, testpay's is consistent at once.
func parseQuery(q string) ([]clause, error) {
	if q == "" {
		return nil, errors.New("query: required")
	}
	if len(q) > maxQuery {
		return nil, fmt.Errorf("query: longer than %d bytes", maxQuery)
	}
	var out []clause
	rest := strings.TrimSpace(q)
	for {
		c, tail, err := parseClause(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		tail = strings.TrimSpace(tail)
		if tail == "" {
			return out, nil
		}
		and, ok := cutFold(tail, "AND ")
		if !ok {
			return nil, fmt.Errorf("query: want AND between clauses at %q (testpay supports AND only)", clip(tail))
		}
		rest = strings.TrimSpace(and)
	}
}

func parseClause(s string) (clause, string, error) {
	var c clause
	switch {
	case strings.HasPrefix(s, "metadata["):
		key, tail, err := quoted(s[len("metadata["):])
		if err != nil {
			return c, "", err
		}
		if !strings.HasPrefix(tail, "]:") {
			return c, "", fmt.Errorf("query: want ]: after metadata['%s'", key)
		}
		c.field, c.key, s = "metadata", key, tail[2:]
	default:
		name, tail, ok := strings.Cut(s, ":")
		if !ok {
			return c, "", fmt.Errorf("query: want field:value at %q", clip(s))
		}
		switch name {
		case "status", "currency", "amount":
		default:
			return c, "", fmt.Errorf("query: unsupported field %q (testpay searches metadata, status, currency, amount)", clip(name))
		}
		c.field, s = name, tail
	}
	if c.field == "amount" {
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		if _, err := strconv.ParseInt(s[:end], 10, 64); err != nil {
			return c, "", fmt.Errorf("query: amount wants an integer, got %q", clip(s[:end]))
		}
		c.value = s[:end]
		return c, s[end:], nil
	}
	v, tail, err := quoted(s)
	c.value = v
	return c, tail, err
}

// quoted reads a quoted string at the start of s.
func quoted(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", fmt.Errorf("query: want a quoted value at %q", clip(s))
	}
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("query: unterminated escape")
			}
			i++
			b.WriteByte(s[i])
		case q:
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", errors.New("query: unterminated quoted value")
}

func cutFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// match reports whether pi satisfies every clause.
func match(pi *PaymentIntent, cs []clause) bool {
	for _, c := range cs {
		var ok bool
		switch c.field {
		case "metadata":
			ok = pi.Metadata[c.key] == c.value
		case "status":
			ok = pi.Status == c.value
		case "currency":
			ok = strings.EqualFold(pi.Currency, c.value)
		case "amount":
			ok = strconv.FormatInt(pi.Amount, 10) == c.value
		}
		if !ok {
			return false
		}
	}
	return true
}
