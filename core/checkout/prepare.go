package checkout

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"sync/atomic"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// prepared is a checkout's cart read and priced on a snapshot by the
// request's own goroutine, before its reservation joins a batch, with the
// records a fresh reservation writes already encoded. Inside the batch
// transaction the reservation then only compares the stored bytes
// (stillHolds) and copies the encoded records instead of decoding the cart
// and every SKU and encoding the order again, which keeps that work off the
// store's single committer.
type prepared struct {
	priced      api.Cart
	cartKey     []byte
	cartRaw     []byte   // the cart record as read
	cartExpires int64    // its expiry
	skuKeys     [][]byte // each line's SKU index key
	skuRaw      [][]byte // each line's SKU index record as read (not to be modified)
	idemKey     []byte   // the key's idempotency record
	// rec is the fresh reservation's records, encoded for the second they
	// were prepared in (nil: encode inside the transaction).
	rec *reservation
}

// skuKey is the catalog's SKU index key k/{sku}, the record that
// Catalog.SKUInfo reads (see store/keys.go).
func skuKey(sku string) []byte { return store.Key(store.NSSKU, sku) }

// prepare reads and prices q's cart on a snapshot and encodes the records
// of its reservation. It returns nil when the cart cannot be checked out:
// the transaction then decides (and answers) from scratch. Whether the key
// already has a record is left to the transaction, which checks it anyway.
func (s *Service) prepare(ctx context.Context, q reserveReq) *prepared {
	p := new(prepared)
	nowNs := s.cfg.Now().UnixNano()
	now := nowNs / 1e9
	err := s.st.View(ctx, func(tx store.Txn) error {
		var err error
		p.priced, err = s.priceCartTx(tx, q.cartID, now, p)
		return err
	})
	if err != nil {
		return nil
	}
	p.cartKey, p.idemKey = cart.Key(q.cartID), idemKey(q.keyHash)
	p.rec = s.newReservation(q, p.priced, now, nowNs)
	return p
}

// stillHolds reports whether, in tx, the key still has no record and the
// cart and its SKU index records are byte for byte what p read, and the
// cart has not expired by now; p.priced is then what pricing in tx would
// give. Any read error says no: the full path reads again and reports it.
// The SKU index records, the same for every buyer of a hot SKU, are read
// once per batch (see batchGet).
func (p *prepared) stillHolds(tx store.Txn, q reserveReq, now int64) bool {
	if p.cartExpires <= now {
		return false
	}
	if _, err := tx.Get(p.idemKey); !errors.Is(err, store.ErrNotFound) {
		return false
	}
	if v, err := tx.Get(p.cartKey); err != nil || !bytes.Equal(v, p.cartRaw) {
		return false
	}
	for i, k := range p.skuKeys {
		if v, err := batchGet(tx, k); err != nil || !bytes.Equal(v, p.skuRaw[i]) {
			return false
		}
	}
	return true
}

// skuInfo is one SKU index record as read and what Catalog.SKUInfo made
// of it. It is immutable once published.
type skuInfo struct {
	sku       string
	raw       []byte
	productID string
	name      string
	price     *api.Money // nil: not purchasable; shared, never modified
}

// skuCache remembers the decoded SKU index record of recently priced SKUs,
// so a hot SKU's record (JSON) is decoded once, not once per buyer: a hit
// needs the stored bytes to be the same. It is a fixed number of slots
// indexed by a hash of the SKU, each replaced by the last SKU priced there:
// bounded, and without locks.
type skuCache struct {
	seed  maphash.Seed
	slots [256]atomic.Pointer[skuInfo]
}

func newSKUCache() *skuCache { return &skuCache{seed: maphash.MakeSeed()} }

func (c *skuCache) slot(sku string) *atomic.Pointer[skuInfo] {
	return &c.slots[maphash.String(c.seed, sku)%uint64(len(c.slots))]
}

// pricingCatalog is the cart.Catalog that prepare prices with: it reads
// each SKU's index record, answers from the cache when the bytes match,
// and records the key and bytes in p.
type pricingCatalog struct {
	s *Service
	p *prepared
}

func (pc pricingCatalog) SKUInfo(tx store.Txn, sku string) (productID, name string, price *api.Money, err error) {
	k := skuKey(sku)
	v, err := tx.Get(k)
	if err != nil {
		// Not found (or unreadable): the catalog names it.
		return pc.s.cat.SKUInfo(tx, sku)
	}
	slot := pc.s.skus.slot(sku)
	info := slot.Load()
	if info == nil || info.sku != sku || !bytes.Equal(info.raw, v) {
		pid, name, price, err := pc.s.cat.SKUInfo(tx, sku)
		if err != nil {
			return pid, name, price, err
		}
		info = &skuInfo{sku: sku, raw: bytes.Clone(v), productID: pid, name: name, price: price}
		slot.Store(info)
	}
	pc.p.skuKeys = append(pc.p.skuKeys, k)
	pc.p.skuRaw = append(pc.p.skuRaw, info.raw)
	return info.productID, info.name, info.price, nil
}
