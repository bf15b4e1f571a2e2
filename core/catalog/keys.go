package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/store"
)

// Store layout of the catalog (see store/keys.go):
//
//	p/{id}   product JSON (api.Product without availability)
//	k/{sku}  skuEntry JSON: owning product id, product name, price
//	s/{sku}  stock record: on_hand, reserved, sold as 3 × int64 big-endian

func productKey(id string) []byte { return store.Key(store.NSProduct, id) }
func skuKey(sku string) []byte    { return store.Key(store.NSSKU, sku) }
func stockKey(sku string) []byte  { return store.Key(store.NSStock, sku) }

// skuEntry is the value of k/{sku}: what checkout needs of a SKU without
// decoding its product.
type skuEntry struct {
	ProductID string     `json:"product_id"`
	Name      string     `json:"name"`
	Price     *api.Money `json:"price,omitempty"`
}

const stockLen = 24

func encodeStock(s *api.Stock) []byte {
	b := make([]byte, 0, stockLen)
	b = binary.BigEndian.AppendUint64(b, uint64(s.OnHand))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Reserved))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Sold))
	return b
}

func decodeStock(sku string, b []byte) (api.Stock, error) {
	if len(b) != stockLen {
		return api.Stock{}, fmt.Errorf("cannot decode stock of %s: %d bytes", sku, len(b))
	}
	s := api.Stock{
		SKU:      sku,
		OnHand:   int64(binary.BigEndian.Uint64(b)),
		Reserved: int64(binary.BigEndian.Uint64(b[8:])),
		Sold:     int64(binary.BigEndian.Uint64(b[16:])),
	}
	s.Available = s.OnHand - s.Reserved - s.Sold
	return s, nil
}

func notFound(what, id string) error {
	return api.Errorf(api.ECodeNotFound, "%s %q not found", what, id)
}

// getProduct reads product id in tx (nil, nil when absent).
func getProduct(tx store.Txn, id string) (*api.Product, error) {
	v, err := tx.Get(productKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read product %s: %w", id, err)
	}
	var p api.Product
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("cannot decode product %s: %w", id, err)
	}
	return &p, nil
}

// getSKU reads the SKU index entry (nil, nil when absent).
func getSKU(tx store.Txn, sku string) (*skuEntry, error) {
	v, err := tx.Get(skuKey(sku))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read SKU %s: %w", sku, err)
	}
	var e skuEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("cannot decode SKU %s: %w", sku, err)
	}
	return &e, nil
}

// getStock reads the stock of sku (found=false when absent).
func getStock(tx store.Txn, sku string) (s api.Stock, found bool, err error) {
	v, err := tx.Get(stockKey(sku))
	if errors.Is(err, store.ErrNotFound) {
		return api.Stock{SKU: sku}, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("cannot read stock of %s: %w", sku, err)
	}
	s, err = decodeStock(sku, v)
	return s, err == nil, err
}
