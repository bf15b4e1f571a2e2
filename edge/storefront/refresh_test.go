package storefront

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"shopedge/core/api"
)

func clone(p *api.Product) *api.Product {
	c := *p
	c.Categories = append([]string(nil), p.Categories...)
	c.SKUs = append([]api.SKU(nil), p.SKUs...)
	for i := range c.SKUs {
		if m := c.SKUs[i].Price; m != nil {
			mc := *m
			c.SKUs[i].Price = &mc
		}
	}
	return &c
}

// byID returns the test product with id.
func byID(tb testing.TB, ps []*api.Product, id string) *api.Product {
	tb.Helper()
	for _, p := range ps {
		if p.ID == id {
			return p
		}
	}
	tb.Fatalf("no product %s", id)
	return nil
}

// feed applies an upsert to the engine, then to the storefront, as the
// follower does (the index is the earlier sink), and refreshes.
func (e *env) upsert(p *api.Product, seq uint64) {
	e.eng.upsert(p)
	e.sf.Apply(&api.Event{Seq: seq, Type: api.EventUpsert, ID: p.ID, Product: p})
	e.sf.refresh()
}

func (e *env) body(tb testing.TB, uri string) string {
	tb.Helper()
	r := e.get(tb, uri)
	if r.StatusCode() != 200 {
		tb.Fatalf("%s: %d", uri, r.StatusCode())
	}
	return string(r.Body())
}

// A price change reaches the home page and the pages of the product's
// categories with the refresh after the event, and renders no other page.
func TestFeedPriceChangeRefreshesItsPages(t *testing.T) {
	ps := testProducts(t)
	e := newEnv(t, ps, nil)
	p := clone(byID(t, ps, "bb-1126083")) // BLU Dash Jr, the most popular: on the home page and its categories' first pages
	audio := e.get(t, "/c/audio")
	audioETag := header(audio, "ETag")
	if !strings.Contains(e.body(t, "/"), "$34.99") || !strings.Contains(e.body(t, "/c/cell-phones"), "$34.99") {
		t.Fatal("the product's price is not on the home and category pages before the change")
	}
	before := e.sf.refreshes.Get()
	p.SKUs[0].Price.Amount = 3111
	e.upsert(p, 2)
	for _, uri := range []string{"/", "/c/cell-phones", "/c/" + api.KeyToken(p.Categories[len(p.Categories)-1])} {
		if b := e.body(t, uri); !strings.Contains(b, "$31.11") || strings.Contains(b, "$34.99") {
			t.Errorf("%s does not show the new price", uri)
		}
	}
	if got := header(e.get(t, "/c/audio"), "ETag"); got != audioETag {
		t.Errorf("an unrelated category page changed")
	}
	// The home page and one page per category of the path, no more.
	if n := e.sf.refreshes.Get() - before; n != uint64(1+len(p.Categories)) {
		t.Errorf("%d pages rendered for one change, want %d", n, 1+len(p.Categories))
	}
}

// A product that moves to another category leaves the old category's
// page with the event (the storefront remembers where it was), and a
// deleted one (its event names only the id) leaves every page.
func TestFeedMoveAndDeleteLeaveOldCategoryPages(t *testing.T) {
	ps := testProducts(t)
	e := newEnv(t, ps, nil)
	p := clone(byID(t, ps, "bb-1126083"))
	link := `href="/products/` + p.Slug + `"`
	if !strings.Contains(e.body(t, "/c/unlocked-cell-phones"), link) {
		t.Fatal("the product is not on its leaf category's page")
	}
	p.Categories = []string{"Audio", "Vinyl Players"}
	e.upsert(p, 2)
	// Its old leaf category had only it: the category is gone, and so is
	// its precomputed page.
	if r := e.get(t, "/c/unlocked-cell-phones"); r.StatusCode() != 404 {
		t.Errorf("the emptied category's page answers %d", r.StatusCode())
	}
	if b := e.body(t, "/c/cell-phones"); strings.Contains(b, link) || !strings.Contains(b, `data-total="9"`) {
		t.Errorf("the old top category's page still counts the product")
	}
	if b := e.body(t, "/c/audio"); !strings.Contains(b, link) || !strings.Contains(b, `data-total="11"`) {
		t.Errorf("the new category's page lacks the product")
	}
	// A category new to the catalog gets its precomputed page.
	if c := e.sf.cats.Load().bySlug["vinyl-players"]; c == nil || c.r.Load() == nil {
		t.Errorf("no precomputed page for the new category")
	}
	e.eng.remove(p.ID)
	e.sf.Apply(&api.Event{Seq: 3, Type: api.EventDelete, ID: p.ID})
	e.sf.refresh()
	for _, uri := range []string{"/", "/c/audio"} {
		if strings.Contains(e.body(t, uri), link) {
			t.Errorf("%s still lists the deleted product", uri)
		}
	}
	if e.sf.cats.Load().bySlug["vinyl-players"] != nil {
		t.Errorf("the emptied category keeps a page")
	}
}

// A purge renders the pages that carry the purged key again; their bytes
// did not change, so they are kept as they are.
func TestFeedPurgeRerendersTaggedPages(t *testing.T) {
	ps := testProducts(t)
	e := newEnv(t, ps, nil)
	etag := header(e.get(t, "/c/audio"), "ETag")
	before, unchanged := e.sf.refreshes.Get(), e.sf.unchanged.Get()
	e.sf.Apply(&api.Event{Seq: 2, Type: api.EventPurge, Keys: []string{"category-audio"}})
	e.sf.refresh()
	if e.sf.refreshes.Get()-before != 1 || e.sf.unchanged.Get()-unchanged != 1 {
		t.Errorf("purge of category-audio: %d renders, %d unchanged; want 1 and 1",
			e.sf.refreshes.Get()-before, e.sf.unchanged.Get()-unchanged)
	}
	if header(e.get(t, "/c/audio"), "ETag") != etag {
		t.Error("an unchanged page got new bytes")
	}
	// A product id purges the pages that show the product.
	before = e.sf.refreshes.Get()
	e.sf.Apply(&api.Event{Seq: 3, Type: api.EventPurge, Keys: []string{"bb-1126083"}})
	e.sf.refresh()
	if n := e.sf.refreshes.Get() - before; n < 2 {
		t.Errorf("purge of a product id rendered %d pages, want its home and category pages", n)
	}
	before = e.sf.refreshes.Get()
	e.sf.Apply(&api.Event{Seq: 4, Type: api.EventPurgeAll})
	e.sf.refresh()
	if n := e.sf.refreshes.Get() - before; n < uint64(len(e.sf.cats.Load().all)) {
		t.Errorf("purge_all rendered %d pages", n)
	}
}

// One refresh renders at most RendersPerRefresh pages; the rest wait for
// the next ones and none is lost.
func TestRefreshBudget(t *testing.T) {
	ps := testProducts(t)
	e := newEnv(t, ps, func(c *Config) { c.RendersPerRefresh = 3 })
	e.sf.Close() // no background refresh: this test runs each one
	for _, p := range ps {
		q := clone(p)
		q.SKUs[0].Price.Amount++
		e.eng.upsert(q)
		e.sf.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, ID: q.ID, Product: q})
	}
	touched := len(e.sf.cats.Load().all) + 1
	rounds := 0
	for {
		before := e.sf.refreshes.Get()
		e.sf.refresh()
		n := int(e.sf.refreshes.Get() - before)
		if n == 0 {
			break
		}
		if n > 3 {
			t.Fatalf("a refresh rendered %d pages, budget 3", n)
		}
		rounds++
	}
	if rounds < touched/3 {
		t.Fatalf("%d rounds for %d pages", rounds, touched)
	}
	if b := e.body(t, "/c/cell-phones"); !strings.Contains(b, "$35.00") { // 3499 + 1
		t.Fatalf("a deferred page was never rendered")
	}
}

// However fast the feed runs, a page is rendered about once per
// RefreshInterval: 100 changes of one product over ~300 ms cost a few
// rounds (the interval is 50 ms), not 100. Without the wait between
// rounds this test fails.
func TestRefreshCoalescesAStream(t *testing.T) {
	ps := testProducts(t)
	e := newEnv(t, ps, func(c *Config) { c.RefreshInterval = 50 * time.Millisecond })
	p := clone(byID(t, ps, "bb-1126083"))
	before := e.sf.refreshes.Get()
	start := time.Now()
	for i := range 100 {
		q := clone(p)
		q.SKUs[0].Price.Amount = int64(1000 + i)
		e.eng.upsert(q)
		e.sf.Apply(&api.Event{Seq: uint64(2 + i), Type: api.EventUpsert, ID: q.ID, Product: q})
		time.Sleep(3 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(e.get(t, "/c/cell-phones").Body(), []byte("$10.99")) { // the last price, 1099 cents
		if time.Now().After(deadline) {
			t.Fatal("the last price never reached the page")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rounds := uint64(time.Since(start)/(50*time.Millisecond)) + 2
	pages := uint64(1 + len(p.Categories))
	if n := e.sf.refreshes.Get() - before; n > rounds*pages {
		t.Fatalf("%d renders of %d pages in %v: more than one per page per interval", n, pages, time.Since(start))
	}
}

// A search page and a filtered category page asked for again (with the
// parameters in another order) are served from the cache of rendered
// pages, and a feed event makes the next request render them from the
// index again: a price change shows at once, never the cached old price.
// Seen failing: without the invalidation in Apply the old price stays.
// What it does not show: the generation read before a render racing an
// event (that ordering is argued in dynCache's comment).
func TestRenderedPagesFollowTheFeed(t *testing.T) {
	ps := testProducts(t)
	// No background refresh during the test (its tree refresh would hide
	// a missing invalidation in Apply).
	e := newEnv(t, ps, func(c *Config) { c.RefreshInterval = time.Hour })
	p := clone(byID(t, ps, "bb-1126083")) // BLU Dash Jr, $34.99
	cat := "/c/" + api.KeyToken(p.Categories[0])
	uris := [][2]string{
		{"/search?q=blu&sort=price_asc", "/search?sort=price_asc&q=blu"},
		{cat + "?sort=price_desc&page=1", cat + "?page=1&sort=price_desc"},
	}
	for _, u := range uris {
		first := e.body(t, u[0])
		if !strings.Contains(first, "$34.99") {
			t.Fatalf("%s does not show the product", u[0])
		}
		renders, hits := e.sf.renders.Get(), e.sf.dynHits.Get()
		if again := e.body(t, u[1]); again != first {
			t.Fatalf("%s differs from %s", u[1], u[0])
		}
		if e.sf.renders.Get() != renders || e.sf.dynHits.Get() != hits+1 {
			t.Fatalf("%s was rendered again, not served from the cache", u[1])
		}
	}
	// The event reaches the index, then the storefront, as the follower
	// delivers it; no refresh yet (the background loop may be up to
	// refresh_interval later).
	p.SKUs[0].Price.Amount = 3111
	e.eng.upsert(p)
	e.sf.Apply(&api.Event{Seq: 2, Type: api.EventUpsert, ID: p.ID, Product: p})
	for _, u := range uris {
		if b := e.body(t, u[1]); !strings.Contains(b, "$31.11") || strings.Contains(b, "$34.99") {
			t.Errorf("%s after the price change does not show the new price", u[1])
		}
	}
}
