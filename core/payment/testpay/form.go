package testpay

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Limits of request parameters (Stripe's own where it has one).
const (
	maxAmount        = 99999999 // Stripe: eight digits
	maxMetadataKeys  = 50
	maxMetadataKey   = 40
	maxMetadataValue = 500
	maxIdemKey       = 255
	maxParamValue    = 5000
	maxListLimit     = 100
)

// form is a request's parameters in Stripe's form encoding
// (metadata[key]=value, payment_method_types[0]=card).
type form struct {
	v url.Values
}

func parseForm(raw string) (form, *APIError) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return form{}, invalid("", "cannot parse the form-encoded parameters: %v", err)
	}
	for k, vs := range v {
		if len(vs) != 1 && !strings.HasSuffix(k, "[]") {
			return form{}, invalid(k, "parameter %s given %d times", k, len(vs))
		}
		for _, s := range vs {
			if len(s) > maxParamValue {
				return form{}, invalid(k, "parameter %s is longer than %d bytes", k, maxParamValue)
			}
		}
	}
	return form{v: v}, nil
}

// canonical is the parameters in a fixed order: the fingerprint an
// Idempotency-Key is bound to.
func (f form) canonical() string { return f.v.Encode() }

// allow answers 400 to a parameter outside allowed. A name ending in "[*]"
// allows every key of that hash (metadata[*]); "[]" allows a list.
func (f form) allow(allowed ...string) *APIError {
	for k := range f.v {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
			} else if base, found := strings.CutSuffix(a, "[*]"); found && strings.HasPrefix(k, base+"[") && strings.HasSuffix(k, "]") {
				ok = true
			} else if base, found := strings.CutSuffix(a, "[]"); found && strings.HasPrefix(k, base+"[") && strings.HasSuffix(k, "]") {
				ok = true
			}
			if ok {
				break
			}
		}
		if !ok {
			return invalid(k, "Received unknown parameter: %s", k)
		}
	}
	return nil
}

func (f form) has(name string) bool   { _, ok := f.v[name]; return ok }
func (f form) get(name string) string { return f.v.Get(name) }

// amount reads a required (or optional, def >= 0) positive amount.
func (f form) amount(name string, required bool) (int64, *APIError) {
	if !f.has(name) {
		if required {
			return 0, missing(name)
		}
		return -1, nil
	}
	n, err := strconv.ParseInt(f.get(name), 10, 64)
	switch {
	case err != nil:
		return 0, invalidCode(name, "parameter_invalid_integer", "Invalid integer: %s", f.get(name))
	case n < 1:
		return 0, invalidCode(name, "amount_too_small", "Amount must be at least 1")
	case n > maxAmount:
		return 0, invalidCode(name, "amount_too_large", "Amount must be no more than %d", maxAmount)
	}
	return n, nil
}

// currency reads a required three-letter currency code, lower-cased.
func (f form) currency() (string, *APIError) {
	if !f.has("currency") {
		return "", missing("currency")
	}
	c := strings.ToLower(f.get("currency"))
	if len(c) != 3 || strings.Trim(c, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", invalid("currency", "Invalid currency: %s", f.get("currency"))
	}
	return c, nil
}

// boolean reads an optional boolean (default false).
func (f form) boolean(name string) (bool, *APIError) {
	if !f.has(name) {
		return false, nil
	}
	switch f.get(name) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidCode(name, "parameter_invalid_boolean", "Invalid boolean: %s", f.get(name))
}

// metadata reads metadata[key]=value within Stripe's limits.
func (f form) metadata() (map[string]string, *APIError) {
	m := map[string]string{}
	for k, vs := range f.v {
		key, ok := strings.CutPrefix(k, "metadata[")
		if !ok {
			continue
		}
		key = strings.TrimSuffix(key, "]")
		switch {
		case key == "" || len(key) > maxMetadataKey:
			return nil, invalid(k, "Metadata keys must be 1-%d characters", maxMetadataKey)
		case len(vs[0]) > maxMetadataValue:
			return nil, invalid(k, "Metadata values can have up to %d characters", maxMetadataValue)
		}
		if vs[0] != "" {
			m[key] = vs[0]
		}
	}
	if len(m) > maxMetadataKeys {
		return nil, invalid("metadata", "Metadata can have up to %d keys", maxMetadataKeys)
	}
	return m, nil
}

// list reads name[0]=a&name[1]=b (or name[]=a): the values in index order.
func (f form) list(name string) []string {
	var out []string
	for i := 0; ; i++ {
		v, ok := f.v[name+"["+strconv.Itoa(i)+"]"]
		if !ok {
			break
		}
		out = append(out, v[0])
	}
	return append(out, f.v[name+"[]"]...)
}

// oneOf reads an optional parameter that must be one of allowed.
func (f form) oneOf(name string, allowed ...string) (string, *APIError) {
	if !f.has(name) {
		return "", nil
	}
	v := f.get(name)
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", invalid(name, "Invalid %s: must be one of %s", name, strings.Join(allowed, ", "))
}

// limit reads the list limit (1–100, default 10).
func (f form) limit() (int, *APIError) {
	if !f.has("limit") {
		return 10, nil
	}
	n, err := strconv.Atoi(f.get("limit"))
	if err != nil || n < 1 || n > maxListLimit {
		return 0, invalid("limit", "Invalid limit: must be an integer within [1, %d]", maxListLimit)
	}
	return n, nil
}

// Error constructors, in Stripe's shapes.

func invalid(param, format string, args ...any) *APIError {
	return &APIError{Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

func invalidCode(param, code, format string, args ...any) *APIError {
	e := invalid(param, format, args...)
	e.Code = code
	return e
}

func missing(param string) *APIError {
	return invalidCode(param, "parameter_missing", "Missing required param: %s.", param)
}

func noSuch(param, kind, id string) *APIError {
	return invalidCode(param, "resource_missing", "No such %s: '%s'", kind, id)
}
