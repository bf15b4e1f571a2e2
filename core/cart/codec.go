package cart

import (
	"encoding/binary"
	"encoding/hex"
	"errors"

	json "github.com/goccy/go-json"
)

// Carts are stored in a compact binary form (about a fifth of the JSON),
// so the cart records a batch of checkouts deletes share fewer store
// pages:
//
//	version (1) | created, updated, expires (varint) | line count (uvarint)
//	then per line: SKU length (uvarint), SKU, quantity (varint)
//
// A cart frozen by a checkout (Record.Order set) is written as version 2,
// which has the order id after the expiry: a byte 1 and the raw bytes of
// an id in lowercase hex (uvarint length first), or a byte 0 and the id as
// it is; a cart that is not frozen is still written as version 1. Records written as JSON
// by earlier versions (they start with '{') are still read.
const (
	recordVersion       = 1
	recordVersionFrozen = 2
)

var errCorrupt = errors.New("corrupt cart record")

func encodeRecord(r *Record) []byte {
	n := 1 + 4*binary.MaxVarintLen64 + binary.MaxVarintLen64 + len(r.Order)
	for _, l := range r.Lines {
		n += 2*binary.MaxVarintLen64 + len(l.SKU)
	}
	b := make([]byte, 0, n)
	if r.Order == "" {
		b = append(b, recordVersion)
	} else {
		b = append(b, recordVersionFrozen)
	}
	b = binary.AppendVarint(b, r.CreatedAt)
	b = binary.AppendVarint(b, r.UpdatedAt)
	b = binary.AppendVarint(b, r.ExpiresAt)
	if r.Order != "" {
		if lowerHex(r.Order) {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(r.Order)/2))
			b, _ = hex.AppendDecode(b, []byte(r.Order))
		} else {
			b = append(b, 0)
			b = binary.AppendUvarint(b, uint64(len(r.Order)))
			b = append(b, r.Order...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(r.Lines)))
	for _, l := range r.Lines {
		b = binary.AppendUvarint(b, uint64(len(l.SKU)))
		b = append(b, l.SKU...)
		b = binary.AppendVarint(b, l.Quantity)
	}
	return b
}

// decodeRecord decodes the record of cart id from v (not retained).
func decodeRecord(id string, v []byte) (Record, error) {
	r := Record{ID: id}
	if len(v) > 0 && v[0] == '{' {
		err := json.Unmarshal(v, &r)
		r.ID = id
		return r, err
	}
	if len(v) == 0 || (v[0] != recordVersion && v[0] != recordVersionFrozen) {
		return r, errCorrupt
	}
	frozen := v[0] == recordVersionFrozen
	v = v[1:]
	bad := false
	varint := func() int64 {
		x, n := binary.Varint(v)
		if n <= 0 {
			bad = true
			return 0
		}
		v = v[n:]
		return x
	}
	uvarint := func() uint64 {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			bad = true
			return 0
		}
		v = v[n:]
		return x
	}
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = varint(), varint(), varint()
	if frozen {
		if len(v) == 0 || v[0] > 1 {
			return r, errCorrupt
		}
		isHex := v[0] == 1
		v = v[1:]
		n := uvarint()
		if bad || n == 0 || n > uint64(len(v)) {
			return r, errCorrupt
		}
		if isHex {
			r.Order = hex.EncodeToString(v[:n])
		} else {
			r.Order = string(v[:n])
		}
		v = v[n:]
	}
	lines := uvarint()
	if bad || lines > uint64(len(v)) {
		return r, errCorrupt
	}
	r.Lines = make([]Line, 0, lines)
	for range lines {
		n := uvarint()
		if bad || n > uint64(len(v)) {
			return r, errCorrupt
		}
		sku := string(v[:n])
		v = v[n:]
		r.Lines = append(r.Lines, Line{SKU: sku, Quantity: varint()})
	}
	if bad || len(v) != 0 {
		return r, errCorrupt
	}
	return r, nil
}

// lowerHex reports whether s is non-empty lowercase hex of even length.
func lowerHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
