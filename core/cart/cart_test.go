package cart

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/store"
	"shopedge/store/embedded"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTest(t *testing.T) (*Service, *catalog.Service, *clock, store.Store) {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "cart.db"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cat := catalog.New(db, changelog.New(db, changelog.DefaultConfig()), catalog.DefaultConfig())
	ck := &clock{t: time.Unix(1_800_000_000, 0)}
	cfg := DefaultConfig()
	cfg.Now = ck.Now
	cfg.MaxLines = 3
	cfg.SweepBatch = 2
	s, err := New(db, cat, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return s, cat, ck, db
}

func put(t *testing.T, cat *catalog.Service, sku string, price *api.Money) {
	t.Helper()
	p := &api.Product{ID: "p" + sku, Slug: "s" + sku, Name: "N " + sku, SKUs: []api.SKU{{SKU: sku, Price: price}}}
	if _, err := cat.Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	// In stock: a sold-out SKU cannot be put in a cart (TestSoldOut).
	if _, err := cat.SetStock(context.Background(), sku, 1000); err != nil {
		t.Fatal(err)
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return api.ErrorCode(err)
}

func TestCartLifecycle(t *testing.T) {
	s, cat, _, _ := newTest(t)
	ctx := context.Background()
	put(t, cat, "a", &api.Money{Amount: 250, Currency: "USD"})
	put(t, cat, "b", &api.Money{Amount: 1000, Currency: "USD"})
	put(t, cat, "e", &api.Money{Amount: 1000, Currency: "EUR"})
	put(t, cat, "free", nil)
	c, err := s.Create(ctx)
	if err != nil || !ValidID(c.ID) || len(c.Lines) != 0 {
		t.Fatalf("create %+v %v", c, err)
	}
	c2, _ := s.Create(ctx)
	if c2.ID == c.ID {
		t.Fatal("ids repeat")
	}
	if c, err = s.SetQuantity(ctx, c.ID, "a", 3); err != nil || c.Totals != (api.Money{Amount: 750, Currency: "USD"}) {
		t.Fatalf("set %+v %v", c, err)
	}
	if c, err = s.SetQuantity(ctx, c.ID, "b", 1); err != nil || c.Totals.Amount != 1750 || len(c.Lines) != 2 {
		t.Fatalf("set b %+v %v", c, err)
	}
	if c, err = s.SetQuantity(ctx, c.ID, "a", 1); err != nil || c.Totals.Amount != 1250 {
		t.Fatalf("update a %+v %v", c, err)
	}
	// Prices are re-read on every read.
	put(t, cat, "b", &api.Money{Amount: 2000, Currency: "USD"})
	if c, _ = s.Get(ctx, c.ID); c.Totals.Amount != 2250 {
		t.Fatalf("price not re-read: %+v", c)
	}
	f := func(id, sku string, qty int64, want string) {
		t.Helper()
		if _, err := s.SetQuantity(ctx, id, sku, qty); code(err) != want {
			t.Fatalf("%s %s %d: %v, want %s", id, sku, qty, err, want)
		}
	}
	f(c.ID, "e", 1, api.ECodeConflict)    // another currency
	f(c.ID, "free", 1, api.ECodeConflict) // no price
	f(c.ID, "nope", 1, api.ECodeNotFound)
	f(c.ID, "a", -1, api.ECodeInvalid)
	f(c.ID, "a", 1000, api.ECodeInvalid)
	f(c.ID, "a/b", 1, api.ECodeInvalid)
	f("0123456789abcdef0123456789abcdef", "a", 1, api.ECodeNotFound)
	f("../x", "a", 1, api.ECodeNotFound)
	put(t, cat, "c", &api.Money{Amount: 1, Currency: "USD"})
	put(t, cat, "d", &api.Money{Amount: 1, Currency: "USD"})
	f(c.ID, "c", 1, "")
	f(c.ID, "d", 1, api.ECodeInvalid) // the 4th line (MaxLines 3)
	if c, err = s.RemoveLine(ctx, c.ID, "a"); err != nil || len(c.Lines) != 2 {
		t.Fatalf("remove %+v %v", c, err)
	}
	if c, err = s.RemoveLine(ctx, c.ID, "a"); err != nil || len(c.Lines) != 2 {
		t.Fatalf("remove absent %+v %v", c, err)
	}
	// A SKU that lost its price drops out of the display but checkout refuses it.
	put(t, cat, "c", nil)
	c, _ = s.Get(ctx, c.ID)
	if len(c.Lines) != 1 || c.Lines[0].SKU != "b" {
		t.Fatalf("unpriced line shown: %+v", c)
	}
}

func TestMoneyOverflow(t *testing.T) {
	if _, ok := mulAmount(1<<62, 2); ok {
		t.Fatal("overflow not caught")
	}
	if v, ok := mulAmount(1<<40, 999); !ok || v != 999<<40 {
		t.Fatal("false overflow")
	}
	sum := api.Money{Amount: 1<<63 - 10, Currency: "USD"}
	if err := addMoney(&sum, api.Money{Amount: 11, Currency: "USD"}); err == nil {
		t.Fatal("sum overflow not caught")
	}
}

func TestExpiryAndSweep(t *testing.T) {
	s, cat, ck, st := newTest(t)
	ctx := context.Background()
	put(t, cat, "a", &api.Money{Amount: 1, Currency: "USD"})
	old, _ := s.Create(ctx)
	var ids []string
	for range 5 {
		c, _ := s.Create(ctx)
		ids = append(ids, c.ID)
	}
	ck.Add(s.cfg.TTL - time.Hour)
	// A write slides the expiry of one cart.
	if _, err := s.SetQuantity(ctx, old.ID, "a", 1); err != nil {
		t.Fatal(err)
	}
	ck.Add(2 * time.Hour)
	if _, err := s.Get(ctx, ids[0]); code(err) != api.ECodeNotFound {
		t.Fatalf("expired cart readable: %v", err)
	}
	// Several sweepers at once (batch 2, so each loops).
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.SweepOnce(ctx)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total < 5 {
		t.Fatalf("swept %d", total)
	}
	if c, err := s.Get(ctx, old.ID); err != nil || len(c.Lines) != 1 {
		t.Fatalf("slid cart swept: %v", err)
	}
	left := 0
	_ = st.View(ctx, func(tx store.Txn) error {
		return tx.Scan([]byte(store.NSCart), store.PrefixEnd([]byte(store.NSCart)), 0, func(k, v []byte) error { left++; return nil })
	})
	if left != 1 {
		t.Fatalf("%d carts left, want 1", left)
	}
	idx := 0
	_ = st.View(ctx, func(tx store.Txn) error {
		return tx.Scan([]byte(store.NSCartExp), store.PrefixEnd([]byte(store.NSCartExp)), 0, func(k, v []byte) error { idx++; return nil })
	})
	if idx != 1 {
		t.Fatalf("%d index entries left, want 1", idx)
	}
}

func TestNewIDNeverLooksLikeACard(t *testing.T) {
	for range 10000 {
		id := NewID()
		if !ValidID(id) || api.ContainsCardNumber([]byte(id)) {
			t.Fatalf("bad id %q", id)
		}
	}
}

// TestNewCartIDTimeOrdered checks that cart ids are valid, never look like
// a card, differ when drawn at the same time, and sort by creation time.
func TestNewCartIDTimeOrdered(t *testing.T) {
	prev := ""
	seen := map[string]bool{}
	for i := range 10000 {
		id := NewCartID(1_800_000_000_000_000_000 + int64(i/2)*1000)
		if !ValidID(id) || len(id) != CartIDLen || api.ContainsCardNumber([]byte(id)) {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatalf("id %q drawn twice", id)
		}
		seen[id] = true
		if i%2 == 0 && id <= prev {
			t.Fatalf("id %q of a later time sorts before %q", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", NewID()[:31], NewID() + "0", strings.ToUpper(NewCartID(1)), NewCartID(1)[:47] + "g"} {
		if ValidID(bad) {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MaxQuantity = 0
	if c.Validate() == nil {
		t.Fatal("max_quantity 0 accepted")
	}
	c = DefaultConfig()
	c.TTL = time.Second
	if c.Validate() == nil {
		t.Fatal("tiny ttl accepted")
	}
}

func TestConsumedCartIndexSwept(t *testing.T) {
	s, cat, ck, st := newTest(t)
	ctx := context.Background()
	put(t, cat, "a", &api.Money{Amount: 1, Currency: "USD"})
	c, err := s.CreateWith(ctx, []Line{{SKU: "a", Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := s.Create(ctx)
	if err := st.Update(ctx, func(tx store.Txn) error { return ConsumeTx(tx, c.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, c.ID); code(err) != api.ECodeNotFound {
		t.Fatalf("consumed cart readable: %v", err)
	}
	count := func() (n int) {
		_ = st.View(ctx, func(tx store.Txn) error {
			return tx.Scan([]byte(store.NSCartExp), store.PrefixEnd([]byte(store.NSCartExp)), 0, func(k, v []byte) error { n++; return nil })
		})
		return n
	}
	if n := count(); n != 2 {
		t.Fatalf("%d index entries, want 2 (the consumed cart's stays until due)", n)
	}
	if n, err := s.SweepOnce(ctx); n != 0 || err != nil {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	ck.Add(s.cfg.TTL + time.Second)
	// Only the cart that still existed counts as swept; both entries go.
	if n, err := s.SweepOnce(ctx); n != 1 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d index entries left", n)
	}
	if _, err := s.Get(ctx, kept.ID); code(err) != api.ECodeNotFound {
		t.Fatalf("expired cart readable: %v", err)
	}
}

func TestRecordCodec(t *testing.T) {
	f := func(r Record) {
		t.Helper()
		v := encodeRecord(&r)
		back, err := decodeRecord(r.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		if back.ID != r.ID || back.Order != r.Order || back.CreatedAt != r.CreatedAt || back.UpdatedAt != r.UpdatedAt || back.ExpiresAt != r.ExpiresAt || len(back.Lines) != len(r.Lines) {
			t.Fatalf("round trip %+v → %+v", r, back)
		}
		for i := range r.Lines {
			if back.Lines[i] != r.Lines[i] {
				t.Fatalf("line %d: %+v → %+v", i, r.Lines[i], back.Lines[i])
			}
		}
		for n := range len(v) {
			if _, err := decodeRecord(r.ID, v[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes accepted", n, len(v))
			}
		}
		if _, err := decodeRecord(r.ID, append(v, 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	}
	f(Record{ID: NewID(), Lines: []Line{}, CreatedAt: 1, UpdatedAt: 2, ExpiresAt: 3})
	f(Record{ID: NewID(), Lines: []Line{{SKU: "a", Quantity: 1}, {SKU: "sku-ü~x", Quantity: 999}}, CreatedAt: 1_800_000_000, UpdatedAt: 1_800_000_100, ExpiresAt: 1_800_604_900})
	f(Record{ID: NewID(), Lines: []Line{{SKU: "a", Quantity: 1}}, CreatedAt: 1, UpdatedAt: 2, ExpiresAt: 3, Order: strings.Repeat("ab", 24)})
	f(Record{ID: NewID(), Lines: []Line{{SKU: "a", Quantity: 1}}, CreatedAt: 1, UpdatedAt: 2, ExpiresAt: 3, Order: "ABC-not-hex"})
	// A cart that is not frozen keeps the first binary version.
	if v := encodeRecord(&Record{ID: NewID(), Lines: []Line{}}); v[0] != recordVersion {
		t.Fatalf("unfrozen cart written as version %d", v[0])
	}
	// A record written as JSON by an earlier version still reads.
	id := NewID()
	r, err := decodeRecord(id, []byte(`{"id":"`+id+`","lines":[{"sku":"a","qty":2}],"created_at":5,"updated_at":6,"expires_at":7}`))
	if err != nil || r.ID != id || len(r.Lines) != 1 || r.Lines[0] != (Line{SKU: "a", Quantity: 2}) || r.ExpiresAt != 7 {
		t.Fatalf("json record: %+v %v", r, err)
	}
}

// TestFrozenCart freezes a cart as a checkout does: every change is a
// conflict naming the order and writes nothing, reads show the order, and
// unfreezing (by that order only) makes it editable again.
func TestFrozenCart(t *testing.T) {
	s, cat, _, st := newTest(t)
	ctx := context.Background()
	put(t, cat, "a", &api.Money{Amount: 5, Currency: "USD"})
	put(t, cat, "b", &api.Money{Amount: 7, Currency: "USD"})
	c, err := s.CreateWith(ctx, []Line{{SKU: "a", Quantity: 2}})
	if err != nil {
		t.Fatal(err)
	}
	const order = "0123456789abcdef0123456789abcdef0123456789abcdef"
	err = st.Update(ctx, func(tx store.Txn) error {
		r, err := LoadTx(tx, c.ID, s.Now())
		if err != nil {
			return err
		}
		return FreezeTx(tx, r, order)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range []func() error{
		func() error { _, err := s.SetQuantity(ctx, c.ID, "a", 3); return err },
		func() error { _, err := s.SetQuantity(ctx, c.ID, "b", 1); return err },
		func() error { _, err := s.RemoveLine(ctx, c.ID, "a"); return err },
	} {
		err := change()
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Code != api.ECodeConflict || !strings.Contains(ae.Message, order) {
			t.Fatalf("change of a frozen cart: %v", err)
		}
	}
	got, err := s.Get(ctx, c.ID)
	if err != nil || got.OrderID != order || len(got.Lines) != 1 || got.Lines[0].Quantity != 2 {
		t.Fatalf("frozen cart read %+v %v", got, err)
	}
	// Another order cannot unfreeze it; its own can.
	unfreeze := func(id string) {
		t.Helper()
		if err := st.Update(ctx, func(tx store.Txn) error { return UnfreezeTx(tx, c.ID, id, s.Now()) }); err != nil {
			t.Fatal(err)
		}
	}
	unfreeze(strings.Repeat("0", 48))
	if _, err := s.SetQuantity(ctx, c.ID, "a", 3); code(err) != api.ECodeConflict {
		t.Fatalf("unfrozen by another order: %v", err)
	}
	unfreeze(order)
	if got, err := s.SetQuantity(ctx, c.ID, "a", 3); err != nil || got.OrderID != "" || got.Lines[0].Quantity != 3 {
		t.Fatalf("after unfreeze: %+v %v", got, err)
	}
	// Unfreezing a cart that is gone is nothing.
	unfreeze(order)
	if err := st.Update(ctx, func(tx store.Txn) error { return UnfreezeTx(tx, NewCartID(1), order, s.Now()) }); err != nil {
		t.Fatal(err)
	}
}

// TestMaxUnits: a cart holds at most MaxUnits units over all its lines,
// whether they come one SetQuantity at a time or with CreateWith, and a
// refused write changes nothing.
func TestMaxUnits(t *testing.T) {
	s, cat, _, _ := newTest(t)
	s.cfg.MaxUnits = 10
	ctx := context.Background()
	for _, sku := range []string{"a", "b"} {
		put(t, cat, sku, &api.Money{Amount: 100, Currency: "USD"})
	}
	c, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := func(sku string, qty int64, want string) {
		t.Helper()
		if _, err := s.SetQuantity(ctx, c.ID, sku, qty); code(err) != want {
			t.Fatalf("%s × %d: %v, want %q", sku, qty, err, want)
		}
	}
	f("a", 10, "")
	f("b", 1, api.ECodeInvalid)
	f("a", 6, "")
	f("b", 4, "")
	f("b", 5, api.ECodeInvalid)
	f("a", 11, api.ECodeInvalid)
	got, err := s.Get(ctx, c.ID)
	if err != nil || len(got.Lines) != 2 || got.Lines[0].Quantity+got.Lines[1].Quantity != 10 {
		t.Fatalf("after refused writes: %+v %v", got, err)
	}
	if _, err := s.CreateWith(ctx, []Line{{SKU: "a", Quantity: 6}, {SKU: "b", Quantity: 5}}); code(err) != api.ECodeInvalid {
		t.Fatalf("CreateWith over the cap: %v", err)
	}
	cfg := DefaultConfig()
	cfg.MaxUnits = 0
	if cfg.Validate() == nil {
		t.Fatal("max_units 0 accepted")
	}
}
