package store

import "encoding/binary"

// Key layout. Every key of a deployment lives under its configured prefix
// (see Prefixed), then under one namespace per owner. Owners document their
// sub-layout here, beside the namespace, so the whole keyspace reads in one
// place.
//
//	catalog (core/catalog)
//	  p/{product id}                  product JSON (api.Product, no availability)
//	  k/{sku}                         SKU index: JSON {product_id, name, price} of the owning product
//	  s/{sku}                         stock record: on_hand, reserved, sold as 3 × int64 big-endian
//	changelog (core/changelog)
//	  log/{seq u64 big-endian}        event JSON (api.Event)
//	  meta/seq                        last assigned sequence (u64 big-endian)
//	  meta/logstart                   first retained sequence (u64 big-endian)
//	CDN purger (core/httpapi), per purge URL, id = hex of sha256(url)[:8]
//	  meta/cdn/{id}/cursor            last sequence the cache acknowledged (u64 big-endian)
//	  meta/cdn/{id}/lease             JSON {owner, until_ms, url}: the core purging that cache
//	carts (core/cart)
//	  cart/{cart id}                  cart, binary (JSON records of earlier versions still read)
//	  cartexp/{unix u64 BE}/{cart id} expiry index for the sweeper (a checkout deletes only
//	                                  the cart; the sweeper drops entries of gone carts when due)
//	orders and checkout (core/checkout; binary records start with a version byte)
//	  ord/{order id, 24 raw bytes}    order, binary; the id is created unix ns (u64 BE) + 16 random
//	                                  bytes, so new orders land at the end and expiry scans go by it
//	  resv/{unix u64 BE}{order id}    reservation expiry index: only orders the scan cannot settle
//	  resv/~scanned                   raw id of the last order the reservation scan passed
//	  idem/{sha256(key), 32 raw bytes}    idempotency record, binary
//	  idemexp/{unix u64 BE}{created ns u64 BE}{sha256}   idempotency expiry index: records
//	                                  without an order, and those not due when the scan passed
//	  idemexp/~scanned                raw id of the last order the idempotency scan passed
//	  payq/{order id}                 payments to reconcile: orders whose charge outcome is not
//	                                  known and that no checkout request is driving any more
//	  payq/~scanned                   raw id of the last order the reconciler's scan passed
//	  rfq/{order id}{attempt u8}      refund queue: one binary work item per refund not yet
//	                                  confirmed by its gateway (state, tries, next try, last error)
const (
	NSProduct = "p/"
	NSSKU     = "k/"
	NSStock   = "s/"
	NSLog     = "log/"
	NSMeta    = "meta/"
	NSCart    = "cart/"
	NSCartExp = "cartexp/"
	NSOrder   = "ord/"
	NSResv    = "resv/"
	NSIdem    = "idem/"
	NSIdemExp = "idemexp/"
	NSPayQ    = "payq/"
	NSRefundQ = "rfq/"
)

// Key returns namespace followed by the given parts joined by '/'.
func Key(ns string, parts ...string) []byte {
	n := len(ns)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, ns...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

// AppendUint64 appends v big-endian, so numeric order is byte order.
func AppendUint64(b []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(b, v)
}

// Uint64 decodes a big-endian u64 from the first 8 bytes of b (0 if short).
func Uint64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// PrefixEnd returns the smallest key greater than every key with prefix p,
// or nil when there is none (p is all 0xff).
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
