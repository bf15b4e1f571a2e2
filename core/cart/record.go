package cart

import (
	"errors"
	"fmt"
	"math/bits"

	"shopedge/core/api"
	"shopedge/store"
)

// Record is a cart as stored at cart/{id} (see codec.go): SKUs and
// quantities only. Prices are never stored; they are read from the catalog
// on every read and write. The JSON tags read records of earlier versions.
type Record struct {
	ID        string `json:"id"`
	Lines     []Line `json:"lines"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
	ExpiresAt int64  `json:"expires_at"`
	// Order, when set, is the order a checkout of this cart created: the
	// cart is frozen (its lines cannot change, and no other checkout can
	// start) until that checkout ends unpaid (see UnfreezeTx). A paid
	// order's cart stays frozen until it expires.
	Order string `json:"-"`
}

// Line is one stored cart line.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"qty"`
}

func cartKey(id string) []byte { return store.Key(store.NSCart, id) }

// Key returns the store key cart/{id} of a cart record.
func Key(id string) []byte { return cartKey(id) }

// ExpiryKey returns the sweeper index key cartexp/{unix u64 BE}/{id}.
func ExpiryKey(unix int64, id string) []byte {
	b := make([]byte, 0, len(store.NSCartExp)+8+1+len(id))
	b = append(b, store.NSCartExp...)
	b = store.AppendUint64(b, uint64(unix))
	b = append(b, '/')
	return append(b, id...)
}

// LoadTx reads cart id inside tx. A malformed, absent or expired cart is an
// *api.Error not_found (expired carts linger until swept).
func LoadTx(tx store.Txn, id string, now int64) (Record, error) {
	r, _, err := LoadTxRaw(tx, id, now)
	return r, err
}

// LoadTxRaw is LoadTx that also returns the record's stored bytes (a copy
// the caller owns), so a later transaction can tell whether it changed.
func LoadTxRaw(tx store.Txn, id string, now int64) (Record, []byte, error) {
	var r Record
	if !ValidID(id) {
		return r, nil, api.Errorf(api.ECodeNotFound, "cart not found")
	}
	v, err := tx.Get(cartKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, api.Errorf(api.ECodeNotFound, "cart not found")
	}
	if err != nil {
		return r, nil, fmt.Errorf("cannot read cart %s: %w", id, err)
	}
	r, err = decodeRecord(id, v)
	if err != nil {
		return r, nil, fmt.Errorf("cannot decode cart %s: %w", id, err)
	}
	if r.ExpiresAt <= now {
		return r, nil, api.Errorf(api.ECodeNotFound, "cart not found")
	}
	return r, append([]byte(nil), v...), nil
}

// saveTx writes r and moves its expiry index entry from oldExpiry.
func saveTx(tx store.Txn, r *Record, oldExpiry int64) error {
	if err := tx.Set(cartKey(r.ID), encodeRecord(r)); err != nil {
		return fmt.Errorf("cannot write cart %s: %w", r.ID, err)
	}
	if oldExpiry != 0 && oldExpiry != r.ExpiresAt {
		if err := tx.Delete(ExpiryKey(oldExpiry, r.ID)); err != nil {
			return fmt.Errorf("cannot unindex cart %s: %w", r.ID, err)
		}
	}
	if err := tx.Set(ExpiryKey(r.ExpiresAt, r.ID), nil); err != nil {
		return fmt.Errorf("cannot index cart %s: %w", r.ID, err)
	}
	return nil
}

// DeleteTx removes cart r and its expiry index entry inside tx.
func DeleteTx(tx store.Txn, r Record) error {
	if err := tx.Delete(cartKey(r.ID)); err != nil {
		return fmt.Errorf("cannot delete cart %s: %w", r.ID, err)
	}
	if err := tx.Delete(ExpiryKey(r.ExpiresAt, r.ID)); err != nil {
		return fmt.Errorf("cannot unindex cart %s: %w", r.ID, err)
	}
	return nil
}

// ConsumeTx removes cart id's record inside tx, leaving its expiry index
// entry to the sweeper, which drops entries of carts that are gone when
// their time comes, in index order.
func ConsumeTx(tx store.Txn, id string) error {
	if err := tx.Delete(cartKey(id)); err != nil {
		return fmt.Errorf("cannot delete cart %s: %w", id, err)
	}
	return nil
}

// FreezeTx marks cart r, as LoadTx read it in tx, as checked out by order
// orderID: from then on SetQuantity refuses to change it (409) and a
// checkout of it finds the order. Its expiry is left as it is, so this is
// one write. A paid checkout leaves the cart frozen (the cart sweeper
// removes it when it expires); one that ends unpaid unfreezes it.
func FreezeTx(tx store.Txn, r Record, orderID string) error {
	r.Order = orderID
	if err := tx.Set(cartKey(r.ID), encodeRecord(&r)); err != nil {
		return fmt.Errorf("cannot freeze cart %s: %w", r.ID, err)
	}
	return nil
}

// UnfreezeTx lets cart id change again if order orderID froze it: the
// checkout ended without payment (declined, nothing charged, expired or
// cancelled), so the buyer may edit the cart and check out again. A cart
// that is gone, expired, or frozen by another order is left alone.
func UnfreezeTx(tx store.Txn, id, orderID string, now int64) error {
	r, err := LoadTx(tx, id, now)
	if api.ErrorCode(err) == api.ECodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Order != orderID {
		return nil
	}
	r.Order = ""
	if err := tx.Set(cartKey(r.ID), encodeRecord(&r)); err != nil {
		return fmt.Errorf("cannot unfreeze cart %s: %w", r.ID, err)
	}
	return nil
}

// FrozenError is the answer to a change of cart r while it is frozen by
// the checkout of order r.Order: a conflict naming the order.
func FrozenError(r Record) *api.Error {
	return &api.Error{
		Code: api.ECodeConflict, Field: "cart_id",
		Message: "the cart is checked out as order " + r.Order + " and cannot change; start a new cart (a checkout that ends unpaid unfreezes it)",
		Details: map[string]string{"order_id": r.Order},
	}
}

// Catalog is what carts need from the catalog (implemented by
// *catalog.Service).
type Catalog interface {
	// SKUInfo reads a SKU's product id, product name and price inside tx;
	// an unknown SKU is an *api.Error not_found. A nil price means the SKU
	// is not purchasable.
	SKUInfo(tx store.Txn, sku string) (productID, name string, price *api.Money, err error)
	// StockTx reads a SKU's stock inside tx; an unknown SKU is an
	// *api.Error not_found.
	StockTx(tx store.Txn, sku string) (api.Stock, error)
}

// PriceTx renders r with prices read from cat inside tx. With strict set
// (checkout), a line whose SKU is gone or has no price is a conflict; without
// it (display), such lines are left out. Mixed currencies are a conflict and
// totals that overflow int64 are invalid.
func PriceTx(tx store.Txn, cat Catalog, r Record, strict bool) (api.Cart, error) {
	c := api.Cart{ID: r.ID, Lines: make([]api.CartLine, 0, len(r.Lines)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ExpiresAt: r.ExpiresAt, OrderID: r.Order}
	for _, l := range r.Lines {
		pid, name, price, err := cat.SKUInfo(tx, l.SKU)
		if err != nil && api.ErrorCode(err) != api.ECodeNotFound {
			return c, fmt.Errorf("cannot price %s: %w", l.SKU, err)
		}
		if err != nil || price == nil {
			if strict {
				return c, &api.Error{Code: api.ECodeConflict, Message: "sku " + l.SKU + " is no longer for sale; remove it from the cart", Field: "sku"}
			}
			continue
		}
		line, err := priceLine(l, pid, name, *price)
		if err != nil {
			return c, err
		}
		if err := addMoney(&c.Totals, line.LineTotal); err != nil {
			return c, err
		}
		c.Lines = append(c.Lines, line)
	}
	return c, nil
}

func priceLine(l Line, pid, name string, price api.Money) (api.CartLine, error) {
	total, ok := mulAmount(price.Amount, l.Quantity)
	if !ok {
		return api.CartLine{}, api.Invalid("quantity", "line total of %s overflows", l.SKU)
	}
	return api.CartLine{
		SKU: l.SKU, ProductID: pid, Name: name, Quantity: l.Quantity,
		UnitPrice: price, LineTotal: api.Money{Amount: total, Currency: price.Currency},
	}, nil
}

// addMoney adds m to sum, refusing mixed currencies and overflow.
func addMoney(sum *api.Money, m api.Money) error {
	if sum.Currency == "" {
		sum.Currency = m.Currency
	} else if sum.Currency != m.Currency {
		return api.Errorf(api.ECodeConflict, "a cart holds one currency: %s cannot join %s", m.Currency, sum.Currency)
	}
	s := sum.Amount + m.Amount
	if (m.Amount > 0 && s < sum.Amount) || (m.Amount < 0 && s > sum.Amount) {
		return api.Invalid("quantity", "cart total overflows")
	}
	sum.Amount = s
	return nil
}

// mulAmount returns a*q for a non-negative amount and quantity, or false on
// overflow or negative input.
func mulAmount(a, q int64) (int64, bool) {
	if a < 0 || q < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(q))
	if hi != 0 || lo > 1<<63-1 {
		return 0, false
	}
	return int64(lo), true
}
