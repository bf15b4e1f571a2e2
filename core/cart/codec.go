package cart

import (
	"encoding/binary"
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
// Records written as JSON by earlier versions (they start with '{') are
// still read.
const recordVersion = 1

var errCorrupt = errors.New("corrupt cart record")

func encodeRecord(r *Record) []byte {
	n := 1 + 3*binary.MaxVarintLen64 + binary.MaxVarintLen64
	for _, l := range r.Lines {
		n += 2*binary.MaxVarintLen64 + len(l.SKU)
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = binary.AppendVarint(b, r.CreatedAt)
	b = binary.AppendVarint(b, r.UpdatedAt)
	b = binary.AppendVarint(b, r.ExpiresAt)
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
	if len(v) == 0 || v[0] != recordVersion {
		return r, errCorrupt
	}
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
