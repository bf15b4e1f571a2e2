package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/forward"
)

// The test binary doubles as a fake core and a fake edge for the cluster
// and scenario tests: with BENCH_FAKE=core it serves fakeShop on
// SHOPEDGE_SERVER_ADDR, with BENCH_FAKE=edge it forwards the write routes
// to SHOPEDGE_FORWARD_ADDRS through edge/forward and proxies every other
// request but /readyz there as it is.
func TestMain(m *testing.M) {
	switch os.Getenv("BENCH_FAKE") {
	case "core":
		serveFake(newFakeShop(os.Getenv("BENCH_FAKE_OVERSELL") == "1").handle)
	case "edge":
		cfg := forward.DefaultConfig()
		cfg.Addrs = strings.Split(os.Getenv("SHOPEDGE_FORWARD_ADDRS"), ",")
		cfg.Limits = forward.LimitsConfig{CacheBytes: 1 << 20}
		f, err := forward.New(cfg, zerolog.Nop(), metrics.NewSet())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r := router.New()
		for _, ep := range f.Endpoints() {
			r.Handle(ep.Method, ep.Path, ep.Handler)
		}
		proxy := &fasthttp.HostClient{Addr: cfg.Addrs[0]}
		r.NotFound = func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/readyz" {
				return
			}
			if err := proxy.Do(&ctx.Request, &ctx.Response); err != nil {
				ctx.Error(err.Error(), fasthttp.StatusBadGateway)
			}
		}
		serveFake(r.Handler)
	default:
		os.Exit(m.Run())
	}
}

// serveFake serves h on SHOPEDGE_SERVER_ADDR until SIGTERM, then exits.
func serveFake(h fasthttp.RequestHandler) {
	ln, err := net.Listen("tcp", os.Getenv("SHOPEDGE_SERVER_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := &fasthttp.Server{Handler: h}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		_ = s.Shutdown()
	}()
	_ = s.Serve(ln)
	os.Exit(0)
}

// fakeShop is a minimal in-memory shop speaking shopedge's wire shapes:
// import, stock, products, suggest, carts and checkout. With oversell it
// ignores stock, so the scenario's oversell check must catch it.
type fakeShop struct {
	mu       sync.Mutex
	oversell bool
	products map[string]*api.Product
	slugs    map[string]string
	prices   map[string]api.Money
	stock    map[string]*api.Stock
	carts    map[string][]api.CartLine
	n        int
	// hits and misses count product pages answered and not, exposed as
	// the edge's counters on /metrics (the fake edge forwards it here).
	hits, misses int
}

func newFakeShop(oversell bool) *fakeShop {
	return &fakeShop{oversell: oversell, products: map[string]*api.Product{}, slugs: map[string]string{},
		prices: map[string]api.Money{}, stock: map[string]*api.Stock{}, carts: map[string][]api.CartLine{}}
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, _ := json.Marshal(v)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func (s *fakeShop) handle(ctx *fasthttp.RequestCtx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path, method := string(ctx.Path()), string(ctx.Method())
	switch {
	case path == "/readyz":
	case method == "POST" && path == "/admin/v1/import":
		if string(ctx.Request.Header.Peek("Authorization")) != "Bearer "+os.Getenv("SHOPEDGE_ADMIN_TOKEN") {
			api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "bad token"))
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(ctx.PostBody()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var p api.Product
			if json.Unmarshal(sc.Bytes(), &p) != nil {
				api.WriteError(ctx, api.Invalid("body", "bad line"))
				return
			}
			if p.ID == os.Getenv("BENCH_FAKE_DROP") {
				continue
			}
			s.products[p.ID], s.slugs[p.Slug] = &p, p.ID
			for _, k := range p.SKUs {
				if k.Price != nil {
					s.prices[k.SKU] = *k.Price
				}
			}
		}
	case strings.HasPrefix(path, "/admin/v1/stock/"):
		sku := strings.TrimPrefix(path, "/admin/v1/stock/")
		if method == "PUT" {
			var u api.StockUpdate
			_ = json.Unmarshal(ctx.PostBody(), &u)
			s.stock[sku] = &api.Stock{SKU: sku, OnHand: *u.OnHand, Available: *u.OnHand}
			return
		}
		st, ok := s.stock[sku]
		if !ok {
			api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no stock"))
			return
		}
		writeJSON(ctx, 200, st)
	case path == "/metrics":
		fmt.Fprintf(ctx, "shopedge_edge_product_hits_total %d\nshopedge_edge_product_misses_total %d\n", s.hits, s.misses)
	case strings.HasPrefix(path, "/v1/products/"):
		if p, ok := s.products[strings.TrimPrefix(path, "/v1/products/")]; ok {
			s.hits++
			writeJSON(ctx, 200, p)
			return
		}
		s.misses++
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no product"))
	case strings.HasPrefix(path, "/products/"):
		if _, ok := s.slugs[strings.TrimPrefix(path, "/products/")]; ok {
			s.hits++
			ctx.SetContentType("text/html")
			ctx.SetBodyString("<html></html>")
			return
		}
		s.misses++
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no product"))
	case path == "/v1/suggest":
		writeJSON(ctx, 200, api.Suggest{Query: string(ctx.QueryArgs().Peek("q"))})
	case method == "POST" && path == "/v1/carts":
		s.n++
		id := fmt.Sprintf("%032x", s.n) // the shape of a real cart id, which the edge checks
		s.carts[id] = nil
		writeJSON(ctx, 201, api.Cart{ID: id, Lines: []api.CartLine{}})
	case method == "PUT" && strings.HasPrefix(path, "/v1/carts/"):
		parts := strings.Split(strings.TrimPrefix(path, "/v1/carts/"), "/")
		var q api.SetQuantity
		_ = json.Unmarshal(ctx.PostBody(), &q)
		s.carts[parts[0]] = append(s.carts[parts[0]], api.CartLine{SKU: parts[2], Quantity: q.Quantity, UnitPrice: s.prices[parts[2]]})
		writeJSON(ctx, 200, api.Cart{ID: parts[0], Lines: s.carts[parts[0]]})
	case method == "POST" && path == "/v1/checkout":
		var req api.CheckoutRequest
		_ = json.Unmarshal(ctx.PostBody(), &req)
		lines := s.carts[req.CartID]
		for _, l := range lines {
			if st := s.stock[l.SKU]; !s.oversell && st.Available < l.Quantity {
				e := api.Errorf(api.ECodeOutOfStock, "short")
				api.WriteError(ctx, e)
				return
			}
		}
		for _, l := range lines {
			st := s.stock[l.SKU]
			st.Sold += l.Quantity
			st.Available -= l.Quantity
		}
		writeJSON(ctx, 201, api.Order{ID: "o-" + req.CartID, Status: api.OrderPaid, Lines: lines})
	default:
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no route %s %s", method, path))
	}
}
