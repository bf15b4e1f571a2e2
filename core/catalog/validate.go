package catalog

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"shopedge/core/api"
)

// Limits of a product, checked by Validate.
const (
	MaxIDLen          = 128
	MaxNameLen        = 300
	MaxBrandLen       = 200
	MaxCategories     = 10
	MaxCategoryLen    = 200
	MaxDescriptionLen = 64 << 10
	MaxImageLen       = 2048
	MaxAmount         = 1_000_000_000_000
	MaxSKUs           = 100
	MaxAttributes     = 50
	MaxAttrKeyLen     = 64
	MaxAttrValueLen   = 1 << 10
)

// Validate checks p against the catalog's limits and returns an api.Error
// of code invalid naming the first bad field (e.g. "skus[2].price.currency").
// Availability fields are ignored. Validate does not modify p.
func Validate(p *api.Product) error {
	if err := validID("id", p.ID); err != nil {
		return err
	}
	if err := validID("slug", p.Slug); err != nil {
		return err
	}
	if p.Name == "" {
		return api.Invalid("name", "must not be empty")
	}
	if err := validText("name", p.Name, MaxNameLen, false); err != nil {
		return err
	}
	if err := validText("brand", p.Brand, MaxBrandLen, false); err != nil {
		return err
	}
	if len(p.Categories) > MaxCategories {
		return api.Invalid("categories", "at most %d categories, got %d", MaxCategories, len(p.Categories))
	}
	for i, c := range p.Categories {
		f := fmt.Sprintf("categories[%d]", i)
		if c == "" {
			return api.Invalid(f, "must not be empty")
		}
		if err := validText(f, c, MaxCategoryLen, false); err != nil {
			return err
		}
	}
	if err := validText("description", p.Description, MaxDescriptionLen, true); err != nil {
		return err
	}
	if err := validImage(p.Image); err != nil {
		return err
	}
	if p.Popularity < 0 {
		return api.Invalid("popularity", "must be >= 0, got %d", p.Popularity)
	}
	if err := validAttrs("attributes", p.Attributes); err != nil {
		return err
	}
	if len(p.SKUs) == 0 {
		return api.Invalid("skus", "at least one SKU is required")
	}
	if len(p.SKUs) > MaxSKUs {
		return api.Invalid("skus", "at most %d SKUs, got %d", MaxSKUs, len(p.SKUs))
	}
	seen := make(map[string]struct{}, len(p.SKUs))
	for i := range p.SKUs {
		s := &p.SKUs[i]
		f := "skus[" + strconv.Itoa(i) + "]"
		if err := validID(f+".sku", s.SKU); err != nil {
			return err
		}
		if _, dup := seen[s.SKU]; dup {
			return api.Invalid(f+".sku", "duplicate SKU %q", s.SKU)
		}
		seen[s.SKU] = struct{}{}
		if s.Price != nil {
			if s.Price.Amount < 0 || s.Price.Amount > MaxAmount {
				return api.Invalid(f+".price.amount", "must be in [0, %d], got %d", int64(MaxAmount), s.Price.Amount)
			}
			if !validCurrency(s.Price.Currency) {
				return api.Invalid(f+".price.currency", "must be 3 upper-case letters, got %q", s.Price.Currency)
			}
		}
		if err := validAttrs(f+".attributes", s.Attributes); err != nil {
			return err
		}
	}
	return nil
}

// validID checks an identifier: 1..MaxIDLen bytes of [A-Za-z0-9._~-], no
// leading dot, no "..".
func validID(field, s string) error {
	if s == "" {
		return api.Invalid(field, "must not be empty")
	}
	if len(s) > MaxIDLen {
		return api.Invalid(field, "at most %d bytes, got %d", MaxIDLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-') {
			return api.Invalid(field, "byte %d: only [A-Za-z0-9._~-] allowed", i)
		}
	}
	if s[0] == '.' {
		return api.Invalid(field, "must not start with a dot")
	}
	if strings.Contains(s, "..") {
		return api.Invalid(field, `must not contain ".."`)
	}
	return nil
}

// textOK is validText's allocation-free fast path.
func textOK(s string, max int, multiline bool) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return textError("", s, max, multiline) == nil
		}
		if c < 0x20 || c == 0x7f {
			if !(multiline && (c == '\n' || c == '\t')) {
				return false
			}
		}
	}
	return true
}

// validText checks length, UTF-8 and control characters (\n and \t are
// allowed when multiline).
func validText(field, s string, max int, multiline bool) error {
	if textOK(s, max, multiline) {
		return nil
	}
	return textError(field, s, max, multiline)
}

func textError(field, s string, max int, multiline bool) error {
	if len(s) > max {
		return api.Invalid(field, "at most %d bytes, got %d", max, len(s))
	}
	if !utf8.ValidString(s) {
		return api.Invalid(field, "not valid UTF-8")
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			if multiline && (r == '\n' || r == '\t') {
				continue
			}
			return api.Invalid(field, "control character at byte %d", i)
		}
	}
	return nil
}

func validImage(s string) error {
	if s == "" {
		return nil
	}
	if err := validText("image", s, MaxImageLen, false); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return api.Invalid("image", "must be an absolute http(s) URL")
	}
	return nil
}

func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func validAttrs(field string, m map[string]string) error {
	if len(m) > MaxAttributes {
		return api.Invalid(field, "at most %d attributes, got %d", MaxAttributes, len(m))
	}
	for k, v := range m {
		if k == "" {
			return api.Invalid(field, "empty attribute key")
		}
		if !textOK(k, MaxAttrKeyLen, false) {
			err := validText(field, k, MaxAttrKeyLen, false).(*api.Error)
			return api.Invalid(field, "key %.64q: %s", k, strings.TrimPrefix(err.Message, field+": "))
		}
		if !textOK(v, MaxAttrValueLen, false) {
			return validText(field+"."+k, v, MaxAttrValueLen, false)
		}
	}
	return nil
}

// ValidID checks an id, slug or SKU: 1..MaxIDLen bytes of [A-Za-z0-9._~-],
// no leading dot, no "..". The error is an api.Error naming field.
func ValidID(field, s string) error { return validID(field, s) }
