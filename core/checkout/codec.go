package checkout

import (
	"encoding/binary"
	"errors"
)

// The hot records (orders, idempotency records) are stored in a compact
// binary form rather than JSON: they are about half the size, so a batch
// commit dirties fewer bbolt pages, and they encode without reflection.
// Every record starts with a format version byte.

// appendUvarint, appendVarint and appendStr build records; strings and
// byte slices are uvarint-length-prefixed.
func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func appendVarint(b []byte, v int64) []byte   { return binary.AppendVarint(b, v) }
func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("corrupt record")

// dec reads a record built by the append helpers. The first malformed
// field sets bad; later reads return zero values, so callers check bad once.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) u8() byte {
	if len(d.b) < 1 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) fixed(n int) []byte {
	if len(d.b) < n {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a length-prefixed field; the slice aliases the record.
func (d *dec) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	return d.fixed(int(n))
}

func (d *dec) str() string { return string(d.bytes()) }

// err reports a malformed record or trailing bytes.
func (d *dec) err() error {
	if d.bad || len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}
