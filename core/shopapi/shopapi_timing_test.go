package shopapi

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/cart"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/core/checkout"
	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/store"
	"shopedge/store/embedded"
)

// benchServe serves h on a loopback port for the benchmark's lifetime and
// returns a client for it.
func benchServe(b *testing.B, h fasthttp.RequestHandler) *fasthttp.HostClient {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 1024}
}

// benchFlashSale posts b.N checkouts of one hot SKU from 64 connections
// at once, the flash-sale bench's shape (5% of the buyers get the stock,
// the rest a stored 409), and reports checkouts/s and the process's CPU-µs
// per checkout, which includes the client's share of each round trip.
// handler nil serves the core's routes on the embedded store with fsync on;
// otherwise handler answers instead (the baseline).
//
//	go test -run xxx -bench 'CheckoutHTTP' -benchtime=10000x -count=3 ./core/shopapi/
//
// Measured on 2 shared cores (load 3–5): 3,544–4,570 checkouts/s and
// 134–147 CPU-µs per checkout, against 17,573–25,304/s and 43–50 CPU-µs
// for the baseline. Of the ~90 µs the checkout adds, the store's writer
// takes about half: with 64 buyers a batch holds ~30 transactions, so each
// pays a share of a bbolt commit's two fdatasyncs and page writes that
// 2,048 buyers spread ~30 times thinner (see core/checkout's benchmark).
func benchFlashSale(b *testing.B, handler fasthttp.RequestHandler) {
	id := cart.NewCartID(1)
	ids := func(int64) string { return id }
	if handler == nil {
		handler, ids = benchShop(b)
	}
	hc := benchServe(b, handler)
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // the core's default
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			i := next.Add(1) - 1
			req.Reset()
			req.Header.SetMethod("POST")
			req.SetRequestURI("http://" + hc.Addr + "/v1/checkout")
			req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", i))
			req.Header.SetContentType("application/json")
			body, _ := json.Marshal(api.CheckoutRequest{CartID: ids(i), PaymentToken: testpay.TokenOK, Email: "buyer@example.com"})
			req.SetBody(body)
			if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil || (resp.StatusCode() != 201 && resp.StatusCode() != 409) {
				b.Errorf("checkout: %d %v %s", resp.StatusCode(), err, resp.Body())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/checkout")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkouts/s")
}

// benchShop returns the core's routes over a fresh embedded store holding
// the hot SKU with b.N/20 units, and the ids of b.N carts holding one unit.
func benchShop(b *testing.B) (fasthttp.RequestHandler, func(i int64) string) {
	db, err := embedded.Open(filepath.Join(b.TempDir(), "bench.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	cat := catalog.New(db, changelog.New(db, changelog.DefaultConfig()), catalog.DefaultConfig())
	carts, err := cart.New(db, cat, cart.DefaultConfig(), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	gw, _ := testpay.New(testpay.Config{})
	co, err := checkout.New(db, cat, payment.Single("testpay", gw), checkout.DefaultConfig(), zerolog.Nop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(co.Close)
	p := &api.Product{ID: "hot", Slug: "hot", Name: "Hot", SKUs: []api.SKU{{SKU: "hot", Price: &api.Money{Amount: 999, Currency: "USD"}}}}
	if _, err := cat.Put(ctx, p); err != nil {
		b.Fatal(err)
	}
	if _, err := cat.SetStock(ctx, "hot", int64(b.N/20+1)); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, b.N)
	for len(ids) < b.N {
		err := db.Update(ctx, func(tx store.Txn) error {
			for i := 0; i < 5000 && len(ids) < b.N; i++ {
				c, err := carts.CreateTx(tx, []cart.Line{{SKU: "hot", Quantity: 1}})
				if err != nil {
					return err
				}
				ids = append(ids, c.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	r := router.New()
	a, err := New(carts, co, DefaultConfig(), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	a.Register(r)
	return r.Handler, func(i int64) string { return ids[i] }
}

// BenchmarkCheckoutHTTP is the flash sale straight to the core's checkout
// route over loopback HTTP.
func BenchmarkCheckoutHTTP(b *testing.B) { benchFlashSale(b, nil) }

// BenchmarkCheckoutHTTPBaseline is its twin: the same requests answered by
// a handler that only writes a stored 409 body, i.e. the HTTP cost alone.
func BenchmarkCheckoutHTTPBaseline(b *testing.B) {
	body := []byte(`{"error":{"code":"out_of_stock","message":"not enough stock for every line","details":[{"sku":"hot","requested":1,"available":0}]}}`)
	benchFlashSale(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(409)
		ctx.SetContentType("application/json")
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetBody(body)
	})
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
