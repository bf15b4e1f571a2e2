package catalog

import (
	"errors"
	"fmt"

	"shopedge/core/api"
	"shopedge/store"
)

// SKUInfo returns, in tx, the product id and name owning sku and its price
// (nil when the SKU has no price and cannot be bought). An unknown SKU is an
// api.Error not_found. It reads one small index record.
func (s *Service) SKUInfo(tx store.Txn, sku string) (productID, name string, price *api.Money, err error) {
	e, err := getSKU(tx, sku)
	if err != nil {
		return "", "", nil, err
	}
	if e == nil {
		return "", "", nil, notFound("SKU", sku)
	}
	return e.ProductID, e.Name, e.Price, nil
}

// StockTx returns the stock of sku in tx (not_found for an unknown SKU).
func (s *Service) StockTx(tx store.Txn, sku string) (api.Stock, error) {
	st, found, err := getStock(tx, sku)
	if err != nil {
		return st, err
	}
	if !found {
		return st, notFound("SKU", sku)
	}
	return st, nil
}

// AdjustStock reads the stock of sku in tx, lets fn change OnHand, Reserved
// and Sold, checks that none is negative and Reserved+Sold <= OnHand
// (conflict otherwise, naming the numbers), and writes it back. When the
// SKU's availability band changes it appends an upsert event of the whole
// product to the change log in the same tx; the caller should then call
// Notify after its commit so feed waiters answer at once. A change within
// the band costs one read and one write of a 24-byte record.
func (s *Service) AdjustStock(tx store.Txn, sku string, fn func(st *api.Stock) error) error {
	key := stockKey(sku)
	v, err := tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("SKU", sku)
	}
	if err != nil {
		return fmt.Errorf("cannot read stock of %s: %w", sku, err)
	}
	old, err := decodeStock(sku, v)
	if err != nil {
		return err
	}
	cur := old
	if err := fn(&cur); err != nil {
		return err
	}
	cur.SKU = sku
	if err := checkStock(&cur); err != nil {
		return err
	}
	if err := tx.Set(key, encodeStock(&cur)); err != nil {
		return fmt.Errorf("cannot write stock of %s: %w", sku, err)
	}
	if s.cfg.Band(old.Available) == s.cfg.Band(cur.Available) {
		return nil
	}
	e, err := getSKU(tx, sku)
	if err != nil {
		return err
	}
	if e == nil {
		return nil // the product was deleted; its stock outlives it for its orders
	}
	p, err := getProduct(tx, e.ProductID)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("BUG: SKU %s indexes missing product %s", sku, e.ProductID)
	}
	if err := s.fillAvailability(tx, p); err != nil {
		return err
	}
	if _, err := s.log.Append(tx, &api.Event{Type: api.EventUpsert, ID: p.ID, Product: p}); err != nil {
		return fmt.Errorf("cannot log band change of %s: %w", sku, err)
	}
	return nil
}

// checkStock enforces the stock invariant and recomputes Available.
func checkStock(st *api.Stock) error {
	if st.OnHand < 0 || st.Reserved < 0 || st.Sold < 0 {
		return api.Errorf(api.ECodeConflict, "stock of %s would go negative (on_hand %d, reserved %d, sold %d)",
			st.SKU, st.OnHand, st.Reserved, st.Sold)
	}
	if st.Reserved+st.Sold > st.OnHand {
		return api.Errorf(api.ECodeConflict, "stock of %s: reserved %d + sold %d would exceed on_hand %d",
			st.SKU, st.Reserved, st.Sold, st.OnHand)
	}
	st.Available = st.OnHand - st.Reserved - st.Sold
	return nil
}

// fillAvailability sets each SKU's availability band from its stock in tx.
func (s *Service) fillAvailability(tx store.Txn, p *api.Product) error {
	for i := range p.SKUs {
		st, _, err := getStock(tx, p.SKUs[i].SKU)
		if err != nil {
			return err
		}
		p.SKUs[i].Availability = s.cfg.Band(st.OnHand - st.Reserved - st.Sold)
	}
	return nil
}
