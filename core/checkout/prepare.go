package checkout

import (
	"bytes"
	"context"
	"errors"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/store"
)

// prepared is a checkout's cart read and priced on a snapshot by the
// request's own goroutine, before its reservation joins a batch. Inside the
// batch transaction the reservation then only compares the stored bytes
// (stillHolds) instead of decoding the cart and every SKU again, which keeps
// that work off the store's single committer.
type prepared struct {
	priced      api.Cart
	cartRaw     []byte   // the cart record as read
	cartExpires int64    // its expiry
	skuRaw      [][]byte // each line's SKU index record as read
}

// skuKey is the catalog's SKU index key k/{sku}, the record that
// Catalog.SKUInfo reads (see store/keys.go).
func skuKey(sku string) []byte { return store.Key(store.NSSKU, sku) }

// prepare reads and prices q's cart on a snapshot. It returns nil when the
// key already has a record or the cart cannot be checked out: the
// transaction then decides (and answers) from scratch.
func (s *Service) prepare(ctx context.Context, q reserveReq) *prepared {
	p := new(prepared)
	err := s.st.View(ctx, func(tx store.Txn) error {
		if _, err := tx.Get(idemKey(q.keyHash)); !errors.Is(err, store.ErrNotFound) {
			return errSkip
		}
		var err error
		p.priced, err = s.priceCartTx(tx, q.cartID, s.now(), p)
		return err
	})
	if err != nil {
		return nil
	}
	return p
}

var errSkip = errors.New("checkout: not prepared")

// stillHolds reports whether, in tx, the key still has no record and the
// cart and its SKU index records are byte for byte what p read, and the
// cart has not expired by now; p.priced is then what pricing in tx would
// give. Any read error says no: the full path reads again and reports it.
func (p *prepared) stillHolds(tx store.Txn, q reserveReq, now int64) bool {
	if _, err := tx.Get(idemKey(q.keyHash)); !errors.Is(err, store.ErrNotFound) {
		return false
	}
	if p.cartExpires <= now {
		return false
	}
	if v, err := tx.Get(cart.Key(q.cartID)); err != nil || !bytes.Equal(v, p.cartRaw) {
		return false
	}
	for i, l := range p.priced.Lines {
		if v, err := tx.Get(skuKey(l.SKU)); err != nil || !bytes.Equal(v, p.skuRaw[i]) {
			return false
		}
	}
	return true
}
