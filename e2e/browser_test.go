package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// browser drives one headless Debian chromium with a fresh profile and
// saves a screenshot of each step of a test under dir.
type browser struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	shots int
}

// chromiumPath finds Debian's chromium. The browser test does not skip
// without it: `make test` installs it when the machine allows, and a
// machine that cannot fails here, naming the package.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if name := os.Getenv("SHOPEDGE_CHROMIUM"); name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("SHOPEDGE_CHROMIUM=%s: %v", name, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser test needs Debian's chromium package: apt-get install chromium " +
		"(make test installs it when the machine allows; SHOPEDGE_CHROMIUM names another binary)")
	return ""
}

func newBrowser(t *testing.T, within time.Duration) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, within)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// Start the browser on the test's context, so that the shorter
	// contexts of single steps (see do) do not bind its life.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("cannot start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx, dir: t.TempDir()}
	t.Logf("screenshots in %s", b.dir)
	return b
}

// stepTimeout bounds one step (a wait for an element that never comes
// fails the test in this time, not at the test's deadline).
const stepTimeout = 30 * time.Second

// step returns the context of one step.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// do runs actions, failing the test with what was being done.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy.
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	b.do("waiting for "+what, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(15*time.Second)))
}

// navigate runs trigger (a click, a key) and waits for the page it opens
// to load.
func (b *browser) navigate(what string, trigger chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// viewport sets a desktop or phone viewport.
func (b *browser) viewport(width int64, phone bool) {
	b.t.Helper()
	if phone {
		b.do("phone viewport", chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		return
	}
	b.do("desktop viewport", chromedp.EmulateViewport(width, 900))
}

// shot saves a full-page screenshot as NN-name.png and returns its path.
func (b *browser) shot(name string) string {
	b.t.Helper()
	return b.capture(name, chromedp.FullScreenshot(100))
}

// screen saves what the viewport shows, as shot does.
func (b *browser) screen(name string) string {
	b.t.Helper()
	return b.capture(name, chromedp.CaptureScreenshot())
}

func (b *browser) capture(name string, action chromedp.Action[[]byte]) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	b.shots++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if dir := os.Getenv("SHOPEDGE_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	return path
}

// noBrokenImages fails when an image that did not load stays visible:
// the page must show its placeholder instead (the catalog's image hosts
// are not reachable from a test machine, so every image here fails). An
// image's error event comes a moment after it counts as complete, so this
// waits up to 10 s for every visible image to settle one way or the
// other.
func (b *browser) noBrokenImages(where string) {
	b.t.Helper()
	const failed = `Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0 && getComputedStyle(i).display !== 'none' && i.getBoundingClientRect().width > 0)`
	// Lazy images below the fold have not started: they show the
	// placeholder until scrolled to.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](
		`Array.from(document.images).every(i => i.complete || i.getBoundingClientRect().top > innerHeight) && `+failed+`.length === 0`,
		chromedp.WithPollingTimeout(0)))
	if err != nil {
		bad := eval[[]string](b, failed+`.map(i => i.className + ' ' + i.src)`)
		b.t.Errorf("%s: images that did not load stay visible (%v): %q", where, err, bad)
	}
}

// TestSingleBrowserShopper starts one core and one edge with the demo
// catalog and walks a shopper's path in headless chromium: type in the
// search box and pick a suggestion with the keyboard, filter the results
// by a brand and see the total and the other facets' counts follow, open a
// product, add it to the cart, see it declined with tok_decline, pay with
// tok_ok, and see the paid order. What the pages showed is checked against
// the core (the order through the API, the SKU's sold count through the
// admin API), and the pages' HTML is checked to be the same for a shopper
// with a cart as for one without. It saves a screenshot of each step.
func TestSingleBrowserShopper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes and a browser")
	}
	chromiumPath(t) // fail before starting anything when there is no browser
	c := startCluster(t, 0)
	// Every 4th product of the demo catalog: all its departments, in a
	// quarter of the import time. The edge starts after the import, as
	// with make run: the search index chooses its price ranges from the
	// snapshot.
	all, _ := demoProducts(t, 1<<30)
	var lines [][]byte
	for i := 0; i < len(all); i += 4 {
		lines = append(lines, all[i])
	}
	for i := 0; i < len(lines); i += 1000 {
		c.importLines(lines[i:min(i+1000, len(lines))])
	}
	c.startEdge("edge0")
	c.waitEdgesReady()
	edge := "http://" + c.edgeAddr[0]
	// The edge has the whole catalog when its home page counts it.
	eventually(t, 30*time.Second, func() string {
		st, _, b := do(t, "GET", edge+"/", nil)
		if want := fmt.Sprintf("%d,%03d products", len(lines)/1000, len(lines)%1000); st != 200 || !contains(b, want) {
			return fmt.Sprintf("the home page (%d) does not say %q yet", st, want)
		}
		return ""
	})

	b := newBrowser(t, 3*time.Minute)
	b.viewport(1280, false)
	b.do("open the home page", chromedp.Navigate(edge+"/"))
	b.waitFor("the home page", `document.querySelectorAll('.cats .cat').length > 0 && document.querySelectorAll('.grid .card').length > 0`)
	b.noBrokenImages("home")
	b.shot("home")

	// Type, see suggestions, move through them with the keyboard, close
	// them with Escape, reopen and pick "Search for …" with Enter.
	box := chromedp.CSS(`.search-hero input[data-suggest]`)
	b.do("type a query", chromedp.SendKeys(box, "galaxy"))
	b.waitFor("suggestions", `(() => { const l = document.getElementById('search-hero-list'); return !l.hidden && l.querySelectorAll('[role=option]').length > 2 })()`)
	b.do("arrow down twice", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	if sel := eval[string](b, `(document.querySelector('.search-hero input').getAttribute('aria-activedescendant') || '') + '|' + (document.querySelector('#search-hero-list [aria-selected=true]') || {}).id`); sel != "search-hero-list-1|search-hero-list-1" {
		t.Fatalf("after two ArrowDowns the active option is %q, want the second", sel)
	}
	b.shot("suggestions")
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	if eval[bool](b, `!document.getElementById('search-hero-list').hidden`) {
		t.Fatal("Escape did not close the suggestions")
	}
	b.do("arrow up", chromedp.KeyEvent(kb.ArrowUp)) // reopens on the last option: "Search for …"
	if txt := eval[string](b, `document.querySelector('#search-hero-list [aria-selected=true]').textContent`); !strings.Contains(txt, "Search for") {
		t.Fatalf("ArrowUp selected %q, want the search option", txt)
	}
	b.navigate("pick the suggestion", chromedp.KeyEvent(kb.Enter))
	if loc := eval[string](b, `location.pathname + location.search`); loc != "/search?q=galaxy" {
		t.Fatalf("the suggestion opened %q", loc)
	}
	total := eval[int](b, `+document.querySelector('[data-total]').dataset.total`)
	if total < 2 {
		t.Fatalf("search for galaxy: %d results", total)
	}
	b.noBrokenImages("search")
	b.shot("search")

	// Filter by a brand that selects some of the results: the total
	// becomes that brand's count and the category counts follow.
	type facet struct {
		Value string `json:"value"`
		Count int    `json:"count"`
		Index int    `json:"index"`
	}
	brands := eval[[]facet](b, `Array.from(document.querySelectorAll('[data-facet=brand] a[data-value]')).map((a, i) => ({value: a.dataset.value, count: +a.querySelector('.n').textContent.replace(/,/g, ''), index: i}))`)
	var pick *facet
	for i := range brands {
		if brands[i].Count < total && brands[i].Count > 0 {
			pick = &brands[i]
			break
		}
	}
	if pick == nil {
		t.Fatalf("no brand facet selects part of the %d results: %+v", total, brands)
	}
	catSum := `Array.from(document.querySelectorAll('[data-facet=category] .n')).reduce((s, n) => s + +n.textContent.replace(/,/g, ''), 0)`
	catsBefore := eval[int](b, catSum)
	b.navigate("filter by brand "+pick.Value, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-facet=brand] li:nth-of-type(%d) a`, pick.Index+1))))
	filtered := eval[int](b, `+document.querySelector('[data-total]').dataset.total`)
	if filtered != pick.Count {
		t.Fatalf("filtered by %s: %d results, its facet link said %d", pick.Value, filtered, pick.Count)
	}
	if on := eval[string](b, `(document.querySelector('[data-facet=brand] a.on') || {}).dataset.value || ''`); on != pick.Value {
		t.Fatalf("the selected brand shows as %q", on)
	}
	if catsAfter := eval[int](b, catSum); catsAfter >= catsBefore {
		t.Fatalf("category counts did not follow the brand filter: %d before, %d after", catsBefore, catsAfter)
	}
	b.shot("filtered")

	// Open the first product that can be bought.
	n := eval[int](b, `Array.from(document.querySelectorAll('.grid .card')).findIndex(c => !c.querySelector('.avail.out_of_stock'))`)
	if n < 0 {
		t.Fatal("no product in stock among the results")
	}
	b.navigate("open a product", chromedp.Click(chromedp.CSS(fmt.Sprintf(`.grid li:nth-child(%d) a.card`, n+1))))
	b.waitFor("the product page", `document.querySelector('form[data-add-to-cart] button[type=submit]') !== null`)
	name := eval[string](b, `document.querySelector('.product h1').textContent`)
	sku := eval[string](b, `(document.querySelector('form[data-add-to-cart] input[name=add]:checked') || document.querySelector('form[data-add-to-cart] input[name=add]')).value`)
	b.noBrokenImages("product")
	b.shot("product")
	var stock api.Stock
	readStock := func() {
		st, _, body := do(t, "GET", "http://"+c.coreAddr+"/admin/v1/stock/"+sku, nil, bearer()...)
		if st != 200 || json.Unmarshal(body, &stock) != nil {
			t.Fatalf("stock of %s: %d %s", sku, st, body)
		}
	}
	readStock()
	soldBefore := stock.Sold

	b.do("add to cart", chromedp.Click(chromedp.CSS(`form[data-add-to-cart] button[type=submit]`)))
	b.waitFor("the cart confirmation", `(() => { const m = document.querySelector('[data-buy-msg]'); return !m.hidden && m.classList.contains('ok') })()`)
	b.waitFor("the cart badge", `document.querySelector('[data-cart-count]').textContent === '1'`)
	b.shot("added")

	b.navigate("open the cart", chromedp.Click(chromedp.CSS(`a.cart-link`)))
	b.waitFor("the cart lines", `document.querySelectorAll('[data-cart-page] .line').length === 1`)
	if got := eval[string](b, `document.querySelector('[data-cart-page] .line .l-name').textContent`); got != name {
		t.Fatalf("the cart shows %q, want %q", got, name)
	}
	b.shot("cart")

	// Nothing of the shopper is in the pages' HTML: the cart's id (the
	// capability to it) is in no page, whatever the request carries.
	cartID := eval[string](b, `localStorage.getItem('shopedge.cart') || ''`)
	if len(cartID) < 16 {
		t.Fatalf("cart id %q in local storage", cartID)
	}
	for _, uri := range []string{"/", "/cart", "/checkout", "/search?q=galaxy", eval[string](b, `location.pathname`)} {
		_, _, page := do(t, "GET", edge+uri, nil, "Cookie", "cart="+cartID)
		if contains(page, cartID) {
			t.Fatalf("%s: the page holds the shopper's cart id", uri)
		}
	}

	b.navigate("go to checkout", chromedp.Click(chromedp.CSS(`[data-go-checkout]`)))
	b.waitFor("the checkout form", `!document.querySelector('form[data-checkout] button[type=submit]').disabled`)
	b.do("fill the checkout form",
		chromedp.SendKeys(chromedp.ID("email"), "shopper@example.com"),
		chromedp.SetValue(chromedp.ID("payment_token"), "tok_decline"),
		chromedp.Click(chromedp.CSS(`form[data-checkout] button[type=submit]`)))
	b.waitFor("the decline", `(() => { const m = document.querySelector('[data-checkout-msg]'); return !m.hidden && m.classList.contains('bad') && /declined/.test(m.textContent) })()`)
	b.shot("declined")
	digestsBefore := metric(t, edge, `shopedge_edge_forward_cart_digests_total{result="valid"}`)
	b.do("pay with tok_ok",
		chromedp.SetValue(chromedp.ID("payment_token"), "tok_ok"))
	b.navigate("place the order", chromedp.Click(chromedp.CSS(`form[data-checkout] button[type=submit]`)))
	b.waitFor("the paid order", `(document.querySelector('[data-order-status]') || {}).textContent === 'Paid'`)
	b.shot("order")
	// The page sent the cart's signed digest with the checkout (so the
	// edge can answer a sold-out cart and route to the SKU's owner core):
	// counted by the edge as a digest it verified.
	if n := metric(t, edge, `shopedge_edge_forward_cart_digests_total{result="valid"}`); n <= digestsBefore {
		t.Errorf("the checkout page sent no valid cart digest (edge's valid digests %v before, %v after)", digestsBefore, n)
	}

	// The order the page shows is the core's, paid, for that SKU; the
	// SKU's sold count rose by one; the cart is gone from the browser.
	loc := eval[string](b, `location.pathname + location.search`)
	st, _, body := do(t, "GET", edge+"/v1"+loc, nil)
	var o api.Order
	if st != 200 || json.Unmarshal(body, &o) != nil {
		t.Fatalf("order %s: %d %s", loc, st, body)
	}
	if o.Status != api.OrderPaid || len(o.Lines) != 1 || o.Lines[0].SKU != sku || o.Lines[0].Quantity != 1 || o.Email != "shopper@example.com" {
		t.Fatalf("order: %+v", o)
	}
	if shown := eval[string](b, `document.querySelector('[data-total]').textContent`); shown == "" || !strings.Contains(shown, fmt.Sprintf("%d.%02d", o.Totals.Amount/100, o.Totals.Amount%100)) {
		t.Fatalf("the order page shows total %q, the order says %d", shown, o.Totals.Amount)
	}
	readStock()
	if stock.Sold != soldBefore+1 {
		t.Fatalf("sold of %s: %d before, %d after", sku, soldBefore, stock.Sold)
	}
	if eval[bool](b, `localStorage.getItem('shopedge.cart') !== null`) {
		t.Fatal("the paid cart is still the browser's cart")
	}

	// The home and a product page at phone width.
	b.viewport(390, true)
	b.do("open the home page on a phone", chromedp.Navigate(edge+"/"))
	b.waitFor("the home page", `document.querySelectorAll('.grid .card').length > 0`)
	b.noBrokenImages("home on a phone")
	b.screen("home-phone")
	b.do("open the product on a phone", chromedp.Navigate(edge+"/products/"+productSlug(t, edge, o.Lines[0].ProductID)))
	b.waitFor("the product page", `document.querySelector('.product h1') !== null`)
	b.screen("product-phone")
	b.phoneTour(edge, loc)

	noScript(t, b, edge)
}

// phoneTour saves the other pages at phone width (a viewport each): the
// search results with the filters closed and open, a category, the cart
// and checkout with a line in the cart, and the order page at orderURI.
// It checks only that each page came up and that nothing on it reaches
// past the screen's right edge (seen failing on the order page's long
// order id before it could wrap).
func (b *browser) phoneTour(edge, orderURI string) {
	b.t.Helper()
	noSideways := func(where string) {
		b.t.Helper()
		// An element that ends right of the layout viewport (a mobile
		// browser would zoom out or scroll sideways, or cut it off).
		wide := eval[[]string](b, `Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 40))`)
		if len(wide) > 0 {
			b.t.Errorf("%s on a phone: wider than the screen: %q", where, wide)
		}
	}
	b.do("search on a phone", chromedp.Navigate(edge+"/search?q=galaxy"))
	b.waitFor("the results", `document.querySelectorAll('.grid .card').length > 0 && !document.querySelector('details.filters').open`)
	noSideways("search")
	b.screen("search-phone")
	b.do("open the filters", chromedp.Click(chromedp.CSS(`details.filters > summary`)))
	b.waitFor("the filters", `document.querySelector('details.filters').open`)
	b.screen("filters-phone")
	b.do("open the home page on a phone", chromedp.Navigate(edge+"/"))
	b.waitFor("the home page", `document.querySelectorAll('.cats .cat').length > 0`)
	b.navigate("open the first category", chromedp.Click(chromedp.CSS(`.cats li:first-child a.cat`)))
	b.waitFor("the category", `location.pathname.startsWith('/c/') && document.querySelectorAll('.grid .card').length > 0`)
	noSideways("category")
	b.screen("category-phone")
	b.navigate("open a product on a phone", chromedp.Click(chromedp.CSS(`.grid li:first-child a.card`)))
	b.waitFor("the product page", `document.querySelector('form[data-add-to-cart] button[type=submit]') !== null`)
	noSideways("product")
	b.do("add to cart on a phone", chromedp.Click(chromedp.CSS(`form[data-add-to-cart] button[type=submit]`)))
	b.waitFor("the cart confirmation", `(() => { const m = document.querySelector('[data-buy-msg]'); return !m.hidden && m.classList.contains('ok') })()`)
	b.do("open the cart on a phone", chromedp.Navigate(edge+"/cart"))
	b.waitFor("the cart lines", `document.querySelectorAll('[data-cart-page] .line').length === 1`)
	noSideways("cart")
	b.screen("cart-phone")
	b.do("open checkout on a phone", chromedp.Navigate(edge+"/checkout"))
	b.waitFor("the checkout form", `!document.querySelector('form[data-checkout] button[type=submit]').disabled`)
	noSideways("checkout")
	b.screen("checkout-phone")
	b.do("open the order on a phone", chromedp.Navigate(edge+orderURI))
	b.waitFor("the paid order", `(document.querySelector('[data-order-status]') || {}).textContent === 'Paid'`)
	noSideways("order")
	b.screen("order-phone")
}

// noScript walks the listing pages in a tab with JavaScript turned off:
// the search box submits, sort is a form with its own button, facets and
// pages are links, so a shopper without script (or a crawler) still
// searches, sorts, pages, filters, browses a category and opens a
// product; the add-to-cart form leads to the cart page, which says it
// needs JavaScript (the cart lives in the browser's storage, not in the
// page). The Sort button is visible only when the script has not run (it
// hides it), which shows that script was really off. What it does not
// show: that the pages look right without script (see the screenshots).
func noScript(t *testing.T, parent *browser, edge string) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent.ctx) // a new tab in the same browser
	t.Cleanup(cancel)
	// Open the tab on its own context, as newBrowser does, so that a
	// step's shorter context does not bind the tab's life.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("cannot open a tab: %v", err)
	}
	b := &browser{t: t, ctx: ctx, dir: parent.dir, shots: parent.shots}
	b.do("turn JavaScript off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	b.viewport(1280, false)
	b.do("open the home page without script", chromedp.Navigate(edge+"/"))
	b.navigate("search without script", chromedp.SendKeys(chromedp.CSS(`.search-hero input[name=q]`), "galaxy"+kb.Enter))
	if loc := eval[string](b, `location.pathname + location.search`); loc != "/search?q=galaxy" {
		t.Fatalf("without script the search box opened %q", loc)
	}
	if eval[bool](b, `document.querySelector('form.sort button[data-nojs]').hidden`) {
		t.Fatal("the Sort button is hidden: the page's script ran")
	}
	total := eval[int](b, `+document.querySelector('[data-total]').dataset.total`)
	if total <= 24 {
		t.Fatalf("search for galaxy: %d results, want more than a page", total)
	}
	prices := `Array.from(document.querySelectorAll('.grid .card .price')).map(p => +p.textContent.replace(/[^0-9.]/g, ''))`

	// Sort by price with the form's button, then page on.
	b.do("choose a sort", chromedp.SetValue(chromedp.ID("sort"), "price_asc"))
	b.navigate("sort without script", chromedp.Click(chromedp.CSS(`form.sort button[data-nojs]`)))
	page1 := eval[[]float64](b, prices)
	if !sort.Float64sAreSorted(page1) || len(page1) != 24 {
		t.Fatalf("sorted by price (%s): %v", eval[string](b, `location.search`), page1)
	}
	b.shot("nojs-sorted")
	b.navigate("next page without script", chromedp.Click(chromedp.CSS(`.pager a[rel=next]`)))
	if q := eval[string](b, `location.search`); !strings.Contains(q, "sort=price_asc") || !strings.Contains(q, "page=2") {
		t.Fatalf("the next page is %q", q)
	}
	page2 := eval[[]float64](b, prices)
	if len(page2) == 0 || !sort.Float64sAreSorted(page2) || page2[0] < page1[len(page1)-1] {
		t.Fatalf("page 2 sorted by price: %v after %v", page2, page1)
	}

	// A brand facet link: the total becomes its count, the sort stays.
	type facet struct {
		Count int    `json:"count"`
		Href  string `json:"href"`
	}
	brands := eval[[]facet](b, `Array.from(document.querySelectorAll('[data-facet=brand] a[data-value]')).map(a => ({count: +a.querySelector('.n').textContent.replace(/,/g, ''), href: a.getAttribute('href')}))`)
	if len(brands) < 2 {
		t.Fatalf("brand facet: %+v", brands)
	}
	b.navigate("filter without script", chromedp.Click(chromedp.CSS(`[data-facet=brand] li:nth-of-type(2) a`)))
	if got := eval[int](b, `+document.querySelector('[data-total]').dataset.total`); got != brands[1].Count {
		t.Fatalf("filtered by %s: %d results, its link said %d", brands[1].Href, got, brands[1].Count)
	}
	if q := eval[string](b, `location.search`); !strings.Contains(q, "sort=price_asc") || strings.Contains(q, "page=") {
		t.Fatalf("the facet link opened %q (want the sort kept and the first page)", q)
	}
	b.shot("nojs-filtered")

	// A category from the home page, then a product, then Add to cart.
	b.do("home without script", chromedp.Navigate(edge+"/"))
	b.navigate("open a category without script", chromedp.Click(chromedp.CSS(`.cats li:first-child a.cat`)))
	if n := eval[int](b, `document.querySelectorAll('.grid .card').length`); n == 0 || !strings.HasPrefix(eval[string](b, `location.pathname`), "/c/") {
		t.Fatalf("the category page shows %d products", n)
	}
	b.shot("nojs-category")
	b.navigate("open a product without script", chromedp.Click(chromedp.CSS(`.grid li:first-child a.card`)))
	if eval[string](b, `document.querySelector('.product .price-lg').textContent`) == "" {
		t.Fatal("the product page shows no price")
	}
	b.shot("nojs-product")
	b.navigate("add to cart without script", chromedp.Click(chromedp.CSS(`form[data-add-to-cart] button[type=submit]`)))
	if msg := eval[string](b, `document.querySelector('main').textContent`); !strings.Contains(msg, "needs JavaScript") {
		t.Fatalf("the cart page without script does not say it needs JavaScript: %q", msg)
	}
	b.shot("nojs-cart")
}

// productSlug reads a product's slug from the edge's JSON.
func productSlug(t *testing.T, edge, id string) string {
	t.Helper()
	st, _, body := do(t, "GET", edge+"/v1/products/"+id, nil)
	var p api.Product
	if st != 200 || json.Unmarshal(body, &p) != nil {
		t.Fatalf("product %s: %d %s", id, st, body)
	}
	return p.Slug
}
