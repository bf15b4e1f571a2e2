package httpapi

import (
	"unsafe"
)

// s2b returns the bytes of s without copying; the result must not be
// modified.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
