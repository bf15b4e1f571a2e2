// Package cart keeps shopedge's shopping carts in the store.
//
// A cart is identified by a 128-bit random id (the id is the capability) and
// holds SKUs and quantities only: prices, names and totals are read from the
// catalog on every read and write, never taken from the client. Carts expire
// Config.TTL after their last write; RunSweeper removes expired carts and is
// safe to run on several core processes at once.
package cart

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/store"
)

// Service creates, reads and edits carts. It is safe for concurrent use and
// holds no state besides its dependencies.
type Service struct {
	st  store.Store
	cat Catalog
	cfg Config
	log zerolog.Logger
	// dig signs the carts' digests (nil: no digest key, no digests).
	dig *api.CartDigester
}

// New returns a cart service over st, pricing from cat.
func New(st store.Store, cat Catalog, cfg Config, log zerolog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{st: st, cat: cat, cfg: cfg, log: log}
	if cfg.DigestKey != "" {
		s.dig = api.NewCartDigester([]byte(cfg.DigestKey))
	}
	return s, nil
}

// digest returns the digest of cart r for the answer of a cart route (see
// api.CartDigester), or "" when there is no key or the cart is frozen by
// its checkout: a client can then not send one with another checkout of
// it, which an edge might answer "sold out" where the core names the
// order.
func (s *Service) digest(r *Record) string {
	if s.dig == nil || r.Order != "" {
		return ""
	}
	var stack [8]api.CartDigestLine
	lines := stack[:0]
	for _, l := range r.Lines {
		lines = append(lines, api.CartDigestLine{SKU: l.SKU, Quantity: l.Quantity})
	}
	return s.dig.Sign(r.ID, r.ExpiresAt, lines)
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Now returns the service clock's current unix time in seconds.
func (s *Service) Now() int64 { return s.cfg.Now().Unix() }

// Catalog returns the catalog the service prices from.
func (s *Service) Catalog() Catalog { return s.cat }

// Create stores a new empty cart.
func (s *Service) Create(ctx context.Context) (api.Cart, error) {
	return s.CreateWith(ctx, nil)
}

// CreateWith stores a new cart holding lines (checked as SetQuantity checks
// them; a repeated SKU is invalid) and returns it priced.
func (s *Service) CreateWith(ctx context.Context, lines []Line) (api.Cart, error) {
	var c api.Cart
	err := s.st.Update(ctx, func(tx store.Txn) error {
		var err error
		c, err = s.CreateTx(tx, lines)
		return err
	})
	if err != nil {
		return api.Cart{}, fmt.Errorf("cannot create cart: %w", err)
	}
	return c, nil
}

// CreateTx stores a new cart holding lines inside tx (see CreateWith).
func (s *Service) CreateTx(tx store.Txn, lines []Line) (api.Cart, error) {
	if len(lines) > s.cfg.MaxLines {
		return api.Cart{}, api.Invalid("lines", "a cart holds at most %d lines", s.cfg.MaxLines)
	}
	nowNs := s.cfg.Now().UnixNano()
	now := nowNs / 1e9
	r := Record{ID: NewCartID(nowNs), Lines: make([]Line, 0, len(lines)), CreatedAt: now}
	for _, l := range lines {
		if err := ValidSKU(l.SKU); err != nil {
			return api.Cart{}, err
		}
		if l.Quantity < 1 || l.Quantity > s.cfg.MaxQuantity {
			return api.Cart{}, api.Invalid("quantity", "must be within [1, %d], got %d", s.cfg.MaxQuantity, l.Quantity)
		}
		if slices.ContainsFunc(r.Lines, func(x Line) bool { return x.SKU == l.SKU }) {
			return api.Cart{}, api.Invalid("sku", "sku %s appears twice", l.SKU)
		}
		if err := s.checkBuyable(tx, l.SKU); err != nil {
			return api.Cart{}, err
		}
		r.Lines = append(r.Lines, l)
	}
	if err := s.checkUnits(r.Lines); err != nil {
		return api.Cart{}, err
	}
	var c api.Cart
	return c, s.writeTx(tx, &r, now, &c)
}

// checkBuyable reports not_found for an unknown SKU and a conflict for one
// without a price.
func (s *Service) checkBuyable(tx store.Txn, sku string) error {
	_, _, price, err := s.cat.SKUInfo(tx, sku)
	if err != nil {
		return err
	}
	if price == nil {
		return &api.Error{Code: api.ECodeConflict, Field: "sku", Message: "sku " + sku + " has no price and cannot be bought"}
	}
	return nil
}

// Get returns cart id priced from the catalog. Lines whose SKU is gone or
// has no price any more are left out.
func (s *Service) Get(ctx context.Context, id string) (api.Cart, error) {
	var c api.Cart
	err := s.st.View(ctx, func(tx store.Txn) error {
		r, err := LoadTx(tx, id, s.Now())
		if err != nil {
			return err
		}
		c, err = PriceTx(tx, s.cat, r, false)
		c.Digest = s.digest(&r)
		return err
	})
	return c, err
}

// SetQuantity sets the quantity of sku in cart id; 0 removes the line.
// Quantities outside [0, MaxQuantity] and a line beyond MaxLines are
// invalid; an unknown SKU is not_found; a SKU without a price, or in
// another currency than the cart, is a conflict, and so is any change to a
// cart frozen by its checkout (FrozenError). Nothing is written on error.
//
// A positive quantity of a sold-out SKU (none available) is answered 409
// api.SoldOutError before anything about the cart or the quantity's upper
// bound is looked at: the answer depends on the SKU alone, so an edge that
// knows the SKU is sold out gives the same answer without a core.
func (s *Service) SetQuantity(ctx context.Context, id, sku string, qty int64) (api.Cart, error) {
	if err := ValidSKU(sku); err != nil {
		return api.Cart{}, err
	}
	if qty < 0 {
		return api.Cart{}, api.Invalid("quantity", "must be within [0, %d], got %d", s.cfg.MaxQuantity, qty)
	}
	var c api.Cart
	err := s.st.Update(ctx, func(tx store.Txn) error {
		if qty > 0 {
			if err := s.soldOutTx(tx, sku, qty); err != nil {
				return err
			}
		}
		if qty > s.cfg.MaxQuantity {
			return api.Invalid("quantity", "must be within [0, %d], got %d", s.cfg.MaxQuantity, qty)
		}
		now := s.Now()
		r, err := LoadTx(tx, id, now)
		if err != nil {
			return err
		}
		if r.Order != "" {
			return FrozenError(r)
		}
		i := slices.IndexFunc(r.Lines, func(l Line) bool { return l.SKU == sku })
		switch {
		case qty == 0 && i < 0:
			// Removing an absent line changes nothing but still slides expiry.
		case qty == 0:
			r.Lines = slices.Delete(r.Lines, i, i+1)
		default:
			if err := s.checkBuyable(tx, sku); err != nil {
				return err
			}
			if i >= 0 {
				r.Lines[i].Quantity = qty
			} else {
				if len(r.Lines) >= s.cfg.MaxLines {
					return api.Invalid("lines", "a cart holds at most %d lines", s.cfg.MaxLines)
				}
				r.Lines = append(r.Lines, Line{SKU: sku, Quantity: qty})
			}
			if err := s.checkUnits(r.Lines); err != nil {
				return err
			}
		}
		return s.writeTx(tx, &r, now, &c)
	})
	return c, err
}

// soldOutTx returns api.SoldOutError when sku has a stock record with no
// unit available.
func (s *Service) soldOutTx(tx store.Txn, sku string, qty int64) error {
	st, err := s.cat.StockTx(tx, sku)
	switch {
	case api.ErrorCode(err) == api.ECodeNotFound:
		return nil // checkBuyable names the unknown SKU
	case err != nil:
		return err
	case st.Available <= 0:
		return api.SoldOutError(sku, qty)
	}
	return nil
}

// checkUnits refuses lines holding more than MaxUnits units in all.
func (s *Service) checkUnits(lines []Line) error {
	var n int64
	for _, l := range lines {
		n += l.Quantity
	}
	if n > s.cfg.MaxUnits {
		return api.Invalid("quantity", "a cart holds at most %d units in all, this would make %d", s.cfg.MaxUnits, n)
	}
	return nil
}

// RemoveLine removes sku from cart id (removing an absent line succeeds).
func (s *Service) RemoveLine(ctx context.Context, id, sku string) (api.Cart, error) {
	return s.SetQuantity(ctx, id, sku, 0)
}

// writeTx prices r strictly enough to refuse mixed currencies, slides its
// expiry and stores it.
func (s *Service) writeTx(tx store.Txn, r *Record, now int64, out *api.Cart) error {
	c, err := PriceTx(tx, s.cat, *r, false)
	if err != nil {
		return err
	}
	old := r.ExpiresAt
	r.UpdatedAt = now
	r.ExpiresAt = now + int64(s.cfg.TTL/time.Second)
	if err := saveTx(tx, r, old); err != nil {
		return err
	}
	c.UpdatedAt, c.ExpiresAt = r.UpdatedAt, r.ExpiresAt
	c.Digest = s.digest(r)
	*out = c
	return nil
}

// ValidSKU checks a SKU taken from a request: 1–128 printable ASCII bytes
// without '/'.
func ValidSKU(sku string) error {
	if len(sku) == 0 || len(sku) > 128 {
		return api.Invalid("sku", "must be 1–128 bytes")
	}
	for i := 0; i < len(sku); i++ {
		if c := sku[i]; c <= ' ' || c > '~' || c == '/' {
			return api.Invalid("sku", "must be printable ASCII without spaces or '/'")
		}
	}
	return nil
}
