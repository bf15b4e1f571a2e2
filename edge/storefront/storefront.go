// Package storefront serves the shop a person browses: the home page
// (search box with autocomplete, top categories, popular products), search
// and category pages with facets, sort and pagination, and the cart,
// checkout and order pages. Product pages are edge/pages'; both use the
// layout, stylesheet and script of edge/storefront/theme.
//
// Every page is the same for every shopper, so a CDN can cache it: the
// cart id lives in the browser's local storage and the page's script reads
// and writes the cart, checkout and order through the edge's JSON API.
//
// The home page and the category pages of the largest categories are
// precomputed bytes (plain and gzip) served like product pages, with no
// allocation on a hit. A Storefront is a follow.Sink placed after the
// search index: it notes which of those pages a feed event touches and a
// background loop renders them again, each at most once per
// Config.RefreshInterval however fast the feed runs. Search pages and
// filtered category pages are rendered per request from the index.
package storefront

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/storefront/theme"
)

// Surrogate keys every storefront page carries besides its categories',
// brands' and products': a purge of "storefront" drops them all from a
// CDN.
const (
	keyStorefront = "storefront"
	keyHome       = "storefront-home"
)

// FeedState tells whether the change feed is connected (pages are marked
// stale when not); *follow.Follower implements it.
type FeedState interface{ Connected() bool }

// Storefront renders and serves the storefront pages. Its handlers are
// safe for concurrent use; the follow.Sink methods are called from the
// follower's goroutine.
type Storefront struct {
	cfg      Config
	eng      Engine
	log      zerolog.Logger
	feed     atomic.Pointer[FeedState]
	defaults api.SearchParams // what Parse gives for no parameters

	cacheControl []byte
	home         atomic.Pointer[rendered]
	cats         atomic.Pointer[catPages]
	shells       [numShells]*rendered
	dyn          dynCache // search and filtered category pages, until the next change

	refreshMu sync.Mutex // one refresh at a time
	mu        sync.Mutex // guards dirty and loaded
	dirty     dirtySet
	loaded    bool
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	stopped   sync.Once

	// Follower goroutine only.
	paths, loading *pathTable

	hits, dynHits, renders, refreshes, unchanged, badRequests *metrics.Counter
	// The handlers of Dispatch, made once (a method value allocates).
	home_, category fasthttp.RequestHandler
}

// catPage is one precomputed category page.
type catPage struct {
	node    api.CategoryNode // without children
	parents []crumb          // root → parent
	sub     []api.CategoryNode
	r       atomic.Pointer[rendered]
}

// catPages is an immutable set of precomputed category pages, replaced
// as a whole when the category tree changes.
type catPages struct {
	bySlug map[string]*catPage
	byName map[string][]*catPage
	all    []*catPage // largest first
	tree   map[string]*catPage
}

// New returns a Storefront over the search engine eng and starts its
// refresh loop (Close stops it). Its metrics are registered on ms.
func New(cfg Config, eng Engine, log zerolog.Logger, ms *metrics.Set) (*Storefront, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create storefront: %w", err)
	}
	defaults, err := eng.Parse(&fasthttp.Args{})
	if err != nil {
		return nil, fmt.Errorf("cannot create storefront: the search engine refuses empty parameters: %w", err)
	}
	s := &Storefront{
		cfg: cfg, eng: eng, log: log, defaults: defaults,
		cacheControl: []byte(cfg.cacheControl()),
		dirty:        newDirtySet(),
		wake:         make(chan struct{}, 1),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		paths:        newPathTable(),
		hits:         ms.NewCounter("shopedge_edge_storefront_hits_total"),
		renders:      ms.NewCounter("shopedge_edge_storefront_renders_total"),
		dynHits:      ms.NewCounter("shopedge_edge_storefront_rendered_hits_total"),
		refreshes:    ms.NewCounter("shopedge_edge_storefront_refreshes_total"),
		unchanged:    ms.NewCounter("shopedge_edge_storefront_refreshes_unchanged_total"),
		badRequests:  ms.NewCounter("shopedge_edge_storefront_bad_requests_total"),
	}
	s.home_, s.category = s.Home, s.Category
	s.cats.Store(&catPages{})
	s.renderShells()
	go s.loop()
	return s, nil
}

// SetFeed gives the storefront the feed's state: while it is not
// connected, pages carry X-Shopedge-Stale: 1 as product pages do.
func (s *Storefront) SetFeed(f FeedState) { s.feed.Store(&f) }

// Close stops the refresh loop. Calling it again does nothing.
func (s *Storefront) Close() {
	s.stopped.Do(func() { close(s.stop) })
	<-s.done
}

// Ready reports whether the first catalog load has been rendered.
func (s *Storefront) Ready() bool { return s.home.Load() != nil }

// loop renders what the feed touched: at once when woken, then no more
// often than RefreshInterval.
func (s *Storefront) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		s.refresh()
		select {
		case <-s.stop:
			return
		case <-time.After(s.cfg.RefreshInterval):
		}
	}
}

func (s *Storefront) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// refresh renders the pages marked dirty, at most RendersPerRefresh of
// them; the rest stay marked for the next round.
func (s *Storefront) refresh() {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	s.mu.Lock()
	d, loaded := s.dirty, s.loaded
	s.dirty = newDirtySet()
	s.mu.Unlock()
	if !loaded || d.empty() {
		return
	}
	budget := s.cfg.RendersPerRefresh
	cp := s.cats.Load()
	if d.all || d.tree {
		budget--
		s.renderHome() // first: the storefront is ready once it has a home page
		cp = s.refreshTree(cp, d.all)
	} else if d.home || s.homeHasKey(d.keys) {
		budget--
		s.renderHome()
	}
	if d.all {
		return // refreshTree rendered every page
	}
	var later []string
	for _, c := range cp.all {
		if !d.touches(c) {
			continue
		}
		if budget <= 0 {
			later = append(later, c.node.Name)
			continue
		}
		budget--
		s.renderCategory(c)
	}
	if len(later) > 0 {
		s.mu.Lock()
		for _, name := range later {
			s.dirty.cats[name] = true
		}
		s.mu.Unlock()
		s.poke()
	}
}

func (s *Storefront) homeHasKey(keys map[string]bool) bool {
	if len(keys) == 0 {
		return false
	}
	h := s.home.Load()
	for k := range keys {
		if k == keyStorefront || k == keyHome || (h != nil && h.hasKey(k)) {
			return true
		}
	}
	return false
}

// refreshTree re-reads the category tree and rebuilds the set of
// precomputed category pages when it changed: the CategoryPages largest
// categories. Pages that stay keep their bytes; new ones are rendered
// before the set is published, so a listed page always has bytes.
func (s *Storefront) refreshTree(old *catPages, all bool) *catPages {
	tree := s.eng.Categories()
	next := &catPages{bySlug: map[string]*catPage{}, byName: map[string][]*catPage{}, tree: map[string]*catPage{}}
	var walk func(ns []api.CategoryNode, parents []crumb)
	walk = func(ns []api.CategoryNode, parents []crumb) {
		for _, n := range ns {
			// A slug names one category: of two with one name (and so
			// one slug), the larger, as the engine's CategoryBySlug.
			if d, dup := next.tree[n.Slug]; n.Slug == "" || dup && d.node.Count >= n.Count {
				continue
			}
			c := &catPage{node: api.CategoryNode{Name: n.Name, Slug: n.Slug, Count: n.Count}, parents: parents}
			for _, ch := range n.Children {
				c.sub = append(c.sub, api.CategoryNode{Name: ch.Name, Slug: ch.Slug, Count: ch.Count})
			}
			if prev := old.tree[n.Slug]; prev != nil {
				c.r.Store(prev.r.Load())
			}
			next.tree[n.Slug] = c
			walk(n.Children, append(parents[:len(parents):len(parents)], crumb{n.Name, "/c/" + n.Slug}))
		}
	}
	walk(tree.Categories, nil)
	for _, c := range next.tree {
		next.all = append(next.all, c)
	}
	sort.Slice(next.all, func(i, j int) bool {
		a, b := next.all[i].node, next.all[j].node
		return a.Count > b.Count || a.Count == b.Count && a.Slug < b.Slug
	})
	if len(next.all) > s.cfg.CategoryPages {
		next.all = next.all[:s.cfg.CategoryPages]
	}
	for _, c := range next.all {
		if c.r.Load() == nil || all {
			s.renderCategory(c)
		}
		next.bySlug[c.node.Slug] = c
		next.byName[c.node.Name] = append(next.byName[c.node.Name], c)
	}
	s.cats.Store(next)
	s.dyn.invalidate() // filtered category pages show the tree's subcategories and counts
	return next
}

// renderHome renders the home page from the index and publishes it when
// its bytes changed.
func (s *Storefront) renderHome() {
	body, keys, err := s.homePage()
	if err != nil {
		s.log.Error().Err(err).Msg("cannot render the home page")
		return
	}
	s.publish(&s.home, body, keys)
}

// renderCategory renders c's unfiltered page and publishes it when its
// bytes changed.
func (s *Storefront) renderCategory(c *catPage) {
	p := s.defaults
	p.Categories = []string{c.node.Name}
	body, keys, err := s.categoryPage(c.node, c.parents, c.sub, &p)
	if err != nil {
		s.log.Error().Err(err).Str("category", c.node.Slug).Msg("cannot render a category page")
		return
	}
	s.publish(&c.r, body, keys)
}

func (s *Storefront) publish(dst *atomic.Pointer[rendered], body []byte, keys []string) {
	s.refreshes.Inc()
	if old := dst.Load(); old.sameBody(body) && strings.Join(old.keys, " ") == strings.Join(keys, " ") {
		s.unchanged.Inc()
		return
	}
	dst.Store(newRendered(body, keys, s.cfg.GzipLevel))
}

// categoryPage renders the page of category node for search p (p's
// Categories already hold node's name).
func (s *Storefront) categoryPage(node api.CategoryNode, parents []crumb, sub []api.CategoryNode, p *api.SearchParams) ([]byte, []string, error) {
	res, err := s.eng.Search(*p)
	if err != nil {
		return nil, nil, err
	}
	v := &listing{
		l:      linker{base: "/c/" + node.Slug, fixedCategory: true, perPage: s.defaults.PerPage},
		title:  node.Name,
		crumbs: parents,
		sub:    sub,
		p:      p,
		res:    res,
		curr:   currencyOf(res),
	}
	body, keys := v.render()
	return body, keys, nil
}

// currencyOf returns the currency of the first priced product of res
// (price facet labels use it), USD when none has a price.
func currencyOf(res *api.SearchResult) string {
	for _, p := range res.Products {
		if p.Price != nil && p.Price.Currency != "" {
			return p.Price.Currency
		}
	}
	return "USD"
}

// homePage renders the home page: a search box, the largest top-level
// categories and the most popular products in stock.
func (s *Storefront) homePage() ([]byte, []string, error) {
	tree := s.eng.Categories()
	top := append([]api.CategoryNode(nil), tree.Categories...)
	sort.SliceStable(top, func(i, j int) bool { return top[i].Count > top[j].Count })
	total := 0
	for _, c := range top {
		total += c.Count
	}
	if len(top) > s.cfg.TopCategories {
		top = top[:s.cfg.TopCategories]
	}
	var popular []api.SearchProduct
	if s.cfg.PopularProducts > 0 {
		p := s.defaults
		p.Sort, p.InStock, p.PerPage, p.Page = api.SortPopularity, true, s.cfg.PopularProducts, 1
		res, err := s.eng.Search(p)
		if err != nil {
			return nil, nil, err
		}
		popular = res.Products
	}
	return appendHome(nil, top, total, popular), productKeys([]string{keyStorefront, keyHome}, popular), nil
}

func appendHome(b []byte, top []api.CategoryNode, total int, popular []api.SearchProduct) []byte {
	desc := "Search and shop " + plural(total, "product", "products") + " from one fast shop."
	b = theme.AppendHead(b, theme.Head{Title: "", Description: desc, Canonical: "/", Page: "home"})
	b = append(b, "<section class=\"hero\">\n<h1>Find what you need, fast.</h1>\n<p>"...)
	b = append(b, plural(total, "product", "products")...)
	b = append(b, ", answers as you type. Search, or browse a category.</p>\n"...)
	b = theme.AppendSearchForm(b, "", "search-hero")
	b = append(b, "</section>\n"...)
	if len(top) > 0 {
		b = append(b, "<section class=\"section\" aria-labelledby=\"h-cats\">\n<div class=\"section-head\"><h2 id=\"h-cats\">Shop by category</h2><a href=\"/search\">All products →</a></div>\n<ul class=\"cats\">\n"...)
		for _, c := range top {
			b = append(b, `<li><a class="cat" style="--h:`...)
			b = fmt.Appendf(b, "%d", hue(c.Name))
			b = append(b, `" href="/c/`...)
			b = text(b, c.Slug)
			b = append(b, `"><b>`...)
			b = text(b, c.Name)
			b = append(b, `</b><span>`...)
			b = append(b, plural(c.Count, "product", "products")...)
			b = append(b, "</span></a></li>\n"...)
		}
		b = append(b, "</ul>\n</section>\n"...)
	}
	if len(top) == 0 && len(popular) == 0 {
		b = append(b, "<div class=\"empty\"><h2>Nothing here yet</h2><p>The catalog has no products yet.</p></div>\n"...)
	}
	if len(popular) > 0 {
		b = append(b, "<section class=\"section\" aria-labelledby=\"h-pop\">\n<div class=\"section-head\"><h2 id=\"h-pop\">Popular right now</h2><a href=\"/search?in_stock=1\">See more →</a></div>\n"...)
		b = appendCards(b, popular)
		b = append(b, "</section>\n"...)
	}
	return theme.AppendFoot(b)
}
