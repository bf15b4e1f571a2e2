package checkout

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"

	"shopedge/core/api"
	"shopedge/store"
)

// skuKey is the catalog's SKU index key k/{sku}, the record that
// Catalog.SKUInfo reads (see store/keys.go).
func skuKey(sku string) []byte { return store.Key(store.NSSKU, sku) }

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
// needs the stored bytes to be the same, so a change is seen at once. It
// is a fixed number of slots indexed by a hash of the SKU, each replaced by
// the last SKU priced there: bounded, and without locks.
type skuCache struct {
	seed  maphash.Seed
	slots [256]atomic.Pointer[skuInfo]
}

func newSKUCache() *skuCache { return &skuCache{seed: maphash.MakeSeed()} }

func (c *skuCache) slot(sku string) *atomic.Pointer[skuInfo] {
	return &c.slots[maphash.String(c.seed, sku)%uint64(len(c.slots))]
}

// cachedCatalog is the cart.Catalog that checkout prices with inside its
// transaction: it reads each SKU's index record through the batch's cache
// (see batchGet: a hot SKU's record is read once per batch) and decodes it
// only when the bytes differ from the cached ones.
type cachedCatalog struct{ s *Service }

func (cc cachedCatalog) SKUInfo(tx store.Txn, sku string) (productID, name string, price *api.Money, err error) {
	v, err := batchGet(tx, skuKey(sku))
	if err != nil {
		// Not found (or unreadable): the catalog names it.
		return cc.s.cat.SKUInfo(tx, sku)
	}
	slot := cc.s.skus.slot(sku)
	info := slot.Load()
	if info == nil || info.sku != sku || !bytes.Equal(info.raw, v) {
		pid, name, price, err := cc.s.cat.SKUInfo(tx, sku)
		if err != nil {
			return pid, name, price, err
		}
		info = &skuInfo{sku: sku, raw: bytes.Clone(v), productID: pid, name: name, price: price}
		slot.Store(info)
	}
	return info.productID, info.name, info.price, nil
}

func (cc cachedCatalog) StockTx(tx store.Txn, sku string) (api.Stock, error) {
	return cc.s.cat.StockTx(tx, sku)
}

// soldOut is the 409 body of a one-line checkout of qty units of sku when
// none is left: the answer most buyers of a sold-out flash sale get,
// rendered once per SKU and quantity rather than once per buyer.
type soldOut struct {
	sku  string
	qty  int64
	body []byte
}

// soldOutBody returns the cached sold-out body of (sku, qty), rendering
// and caching it on a miss.
func (s *Service) soldOutBody(sku string, qty int64) []byte {
	slot := &s.soldOut[maphash.String(s.skus.seed, sku)%uint64(len(s.soldOut))]
	if b := slot.Load(); b != nil && b.sku == sku && b.qty == qty {
		return b.body
	}
	body := errorBody(outOfStock([]api.ShortLine{{SKU: sku, Requested: qty}}))
	slot.Store(&soldOut{sku: sku, qty: qty, body: body})
	return body
}
