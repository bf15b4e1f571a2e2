// Package catalog owns shopedge's products, SKUs and stock in the store:
// validation, upserts that keep the SKU index and stock records consistent,
// availability bands, NDJSON import, and the transaction-level stock API the
// checkout uses. Every catalog write appends its change-log event in the same
// transaction.
package catalog

import (
	"context"
	"fmt"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/changelog"
	"shopedge/store"
)

// Service is the catalog over a store and its change log. It is safe for
// concurrent use, holds no goroutines and lives as long as its store.
type Service struct {
	st  store.Store
	log *changelog.Log
	cfg Config
	// group, when not nil, group-commits single writes (see grouper).
	group *grouper
}

// New returns the catalog service. cfg must be valid (see Config.Validate).
func New(st store.Store, log *changelog.Log, cfg Config) *Service {
	return &Service{st: st, log: log, cfg: cfg, group: newGrouper(st, cfg.WriteBatch)}
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Store returns the service's store.
func (s *Service) Store() store.Store { return s.st }

// Notify wakes the change log's local waiters; call it after committing a
// transaction in which AdjustStock may have appended an event.
func (s *Service) Notify() { s.log.Notify() }

// update runs fn in a write transaction of its own and notifies feed
// waiters after a successful commit.
func (s *Service) update(ctx context.Context, fn func(tx store.Txn) error) error {
	if err := s.st.Update(ctx, fn); err != nil {
		return err
	}
	s.log.Notify()
	return nil
}

// write is update for one small catalog write: on a store that does not
// group commits itself it shares a transaction with other writes (see
// grouper), on a buffer of its own that an error discards.
func (s *Service) write(ctx context.Context, fn func(tx store.Txn) error) error {
	if s.group == nil {
		return s.update(ctx, fn)
	}
	if err := s.group.do(ctx, fn); err != nil {
		return err
	}
	s.log.Notify()
	return nil
}

// Put validates p and inserts or replaces it: the SKU index follows the new
// SKU list, new SKUs get a stock record at 0, dropped SKUs lose their index
// and stock. It returns the sequence of the upsert event. A SKU owned by
// another product is a conflict. p's availability fields are ignored; p is
// not retained.
func (s *Service) Put(ctx context.Context, p *api.Product) (uint64, error) {
	if err := Validate(p); err != nil {
		return 0, err
	}
	pr, err := s.prepare(p, nil)
	if err != nil {
		return 0, err
	}
	var seq uint64
	err = s.write(ctx, func(tx store.Txn) error {
		var err error
		seq, err = s.putPrepared(tx, pr)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cannot put product %s: %w", p.ID, err)
	}
	return seq, nil
}

// prepared is a validated product encoded outside any transaction, so the
// transaction itself (which the store may run on its single committer) does
// little more than reads and writes.
type prepared struct {
	p       *api.Product // stored form: no availability
	stock   map[string]int64
	product []byte   // p/{id} value
	skus    [][]byte // k/{sku} values, in SKU order
	bands   []string // availability assumed for the event
	event   []byte   // product with the assumed availability
}

// prepare encodes a validated product. The event's availability assumes
// the SKUs' stock is what stock says (0 when absent); putPrepared
// re-encodes when the store holds something else.
func (s *Service) prepare(in *api.Product, stock map[string]int64) (*prepared, error) {
	p := *in
	p.SKUs = make([]api.SKU, len(in.SKUs))
	pr := &prepared{p: &p, stock: stock, skus: make([][]byte, len(in.SKUs)), bands: make([]string, len(in.SKUs))}
	for i, k := range in.SKUs {
		k.Availability = ""
		p.SKUs[i] = k
		b, err := json.Marshal(&skuEntry{ProductID: p.ID, Name: p.Name, Price: k.Price})
		if err != nil {
			return nil, fmt.Errorf("cannot encode SKU entry: %w", err)
		}
		pr.skus[i] = b
	}
	var err error
	if pr.product, err = json.Marshal(&p); err != nil {
		return nil, fmt.Errorf("cannot encode product: %w", err)
	}
	ev := p
	ev.SKUs = make([]api.SKU, len(p.SKUs))
	for i, k := range p.SKUs {
		pr.bands[i] = s.cfg.Band(stock[k.SKU])
		k.Availability = pr.bands[i]
		ev.SKUs[i] = k
	}
	if pr.event, err = json.Marshal(&ev); err != nil {
		return nil, fmt.Errorf("cannot encode product: %w", err)
	}
	return pr, nil
}

// putPrepared writes a prepared product and its event in tx. pr.stock
// optionally sets on_hand per SKU. Every check runs before the first
// write, so an error leaves tx unchanged.
func (s *Service) putPrepared(tx store.Txn, pr *prepared) (uint64, error) {
	p := pr.p
	old, err := getProduct(tx, p.ID)
	if err != nil {
		return 0, err
	}
	newSKUs := make(map[string]struct{}, len(p.SKUs))
	stocks := make([]api.Stock, len(p.SKUs))
	for i := range p.SKUs {
		sku := p.SKUs[i].SKU
		newSKUs[sku] = struct{}{}
		e, err := getSKU(tx, sku)
		if err != nil {
			return 0, err
		}
		if e != nil && e.ProductID != p.ID {
			return 0, &api.Error{Code: api.ECodeConflict, Field: fmt.Sprintf("skus[%d].sku", i),
				Message: fmt.Sprintf("SKU %q belongs to product %q", sku, e.ProductID)}
		}
		st, _, err := getStock(tx, sku)
		if err != nil {
			return 0, err
		}
		if n, ok := pr.stock[sku]; ok {
			st.OnHand = n
			if err := checkStock(&st); err != nil {
				return 0, err
			}
		}
		st.Available = st.OnHand - st.Reserved - st.Sold
		stocks[i] = st
	}
	for sku := range pr.stock {
		if _, ok := newSKUs[sku]; !ok {
			return 0, api.Invalid("stock."+sku, "not a SKU of product %q", p.ID)
		}
	}

	// Writes.
	if err := tx.Set(productKey(p.ID), pr.product); err != nil {
		return 0, fmt.Errorf("cannot write product: %w", err)
	}
	same := true
	for i := range p.SKUs {
		sku := p.SKUs[i].SKU
		if err := tx.Set(skuKey(sku), pr.skus[i]); err != nil {
			return 0, fmt.Errorf("cannot write SKU %s: %w", sku, err)
		}
		if err := tx.Set(stockKey(sku), encodeStock(&stocks[i])); err != nil {
			return 0, fmt.Errorf("cannot write stock of %s: %w", sku, err)
		}
		same = same && s.cfg.Band(stocks[i].Available) == pr.bands[i]
	}
	if old != nil {
		for _, k := range old.SKUs {
			if _, keep := newSKUs[k.SKU]; keep {
				continue
			}
			if err := deleteSKU(tx, k.SKU); err != nil {
				return 0, err
			}
		}
	}
	ev := &api.Event{Type: api.EventUpsert, ID: p.ID}
	if same {
		return s.log.AppendEncoded(tx, ev, pr.event)
	}
	withBands := *p
	withBands.SKUs = make([]api.SKU, len(p.SKUs))
	for i, k := range p.SKUs {
		k.Availability = s.cfg.Band(stocks[i].Available)
		withBands.SKUs[i] = k
	}
	ev.Product = &withBands
	return s.log.Append(tx, ev)
}

// deleteSKU drops a SKU from the catalog. Its stock record goes too unless
// orders still hold units of it (reserved, or sold and so refundable into
// stock): then it stays, so releasing, expiring or cancelling those orders
// still balances, and a product that takes the SKU again finds its stock.
func deleteSKU(tx store.Txn, sku string) error {
	if err := tx.Delete(skuKey(sku)); err != nil {
		return fmt.Errorf("cannot delete SKU %s: %w", sku, err)
	}
	st, found, err := getStock(tx, sku)
	if err != nil || !found || st.Reserved > 0 || st.Sold > 0 {
		return err
	}
	if err := tx.Delete(stockKey(sku)); err != nil {
		return fmt.Errorf("cannot delete stock of %s: %w", sku, err)
	}
	return nil
}

// Delete removes product id with its SKU index and stock records and
// returns the sequence of the delete event (not_found when absent).
func (s *Service) Delete(ctx context.Context, id string) (uint64, error) {
	var seq uint64
	err := s.write(ctx, func(tx store.Txn) error {
		p, err := getProduct(tx, id)
		if err != nil {
			return err
		}
		if p == nil {
			return notFound("product", id)
		}
		for _, k := range p.SKUs {
			if err := deleteSKU(tx, k.SKU); err != nil {
				return err
			}
		}
		if err := tx.Delete(productKey(id)); err != nil {
			return fmt.Errorf("cannot delete product: %w", err)
		}
		seq, err = s.log.Append(tx, &api.Event{Type: api.EventDelete, ID: id})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cannot delete product %s: %w", id, err)
	}
	return seq, nil
}

// Get returns product id with availability filled in (not_found when
// absent). The result belongs to the caller.
func (s *Service) Get(ctx context.Context, id string) (*api.Product, error) {
	var p *api.Product
	err := s.st.View(ctx, func(tx store.Txn) error {
		var err error
		p, err = s.GetTx(tx, id)
		return err
	})
	return p, err
}

// GetTx is Get inside tx.
func (s *Service) GetTx(tx store.Txn, id string) (*api.Product, error) {
	p, err := getProduct(tx, id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, notFound("product", id)
	}
	if err := s.fillAvailability(tx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Purge appends a purge event for keys (product ids or surrogate keys), or a
// purge_all event when all is set, and returns its sequence.
func (s *Service) Purge(ctx context.Context, keys []string, all bool) (uint64, error) {
	ev := &api.Event{Type: api.EventPurge, Keys: keys}
	if all {
		ev = &api.Event{Type: api.EventPurgeAll}
	}
	var seq uint64
	err := s.write(ctx, func(tx store.Txn) error {
		var err error
		seq, err = s.log.Append(tx, ev)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cannot log purge: %w", err)
	}
	return seq, nil
}

// SetStock sets the on-hand count of sku. It must stay >= reserved + sold
// (conflict naming the numbers otherwise); a band change emits an event.
func (s *Service) SetStock(ctx context.Context, sku string, onHand int64) (api.Stock, error) {
	if onHand < 0 {
		return api.Stock{}, api.Invalid("on_hand", "must be >= 0, got %d", onHand)
	}
	var out api.Stock
	err := s.write(ctx, func(tx store.Txn) error {
		return s.AdjustStock(tx, sku, func(st *api.Stock) error {
			st.OnHand = onHand
			if st.Reserved+st.Sold > onHand {
				return api.Errorf(api.ECodeConflict, "on_hand %d is below reserved %d + sold %d of %s",
					onHand, st.Reserved, st.Sold, sku)
			}
			out = *st
			return nil
		})
	})
	if err != nil {
		return api.Stock{}, fmt.Errorf("cannot set stock of %s: %w", sku, err)
	}
	out.Available = out.OnHand - out.Reserved - out.Sold
	return out, nil
}

// Stock returns the stock of sku (not_found for an unknown SKU).
func (s *Service) Stock(ctx context.Context, sku string) (api.Stock, error) {
	var out api.Stock
	err := s.st.View(ctx, func(tx store.Txn) error {
		var err error
		out, err = s.StockTx(tx, sku)
		return err
	})
	return out, err
}
