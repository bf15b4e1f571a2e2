package coreclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// startFake serves h on 127.0.0.1:0 and returns a Client for it.
func startFake(t *testing.T, h fasthttp.RequestHandler, tune func(*ClientConfig)) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, ReadTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = srv.Shutdown() })
	cfg := DefaultClientConfig()
	cfg.Addrs = []string{ln.Addr().String()}
	if tune != nil {
		tune(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientProduct(t *testing.T) {
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/internal/v1/products/42":
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"id":"42","slug":"tv-42","name":"TV","popularity":3,"skus":[{"sku":"42","price":{"amount":999,"currency":"USD"},"availability":"low_stock"}]}`)
		case "/internal/v1/products/500":
			api.WriteError(ctx, api.Errorf(api.ECodeInternal, "boom"))
		default:
			api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no such product"))
		}
	}, nil)
	p, err := c.Product(context.Background(), "42")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "42" || p.SKUs[0].Availability != api.LowStock || p.SKUs[0].Price.Amount != 999 {
		t.Fatalf("unexpected product %+v", p)
	}
	if _, err := c.Product(context.Background(), "7"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	_, err = c.Product(context.Background(), "500")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want a 500 error, got %v", err)
	}
}

func TestClientChanges(t *testing.T) {
	var gotQuery atomic.Value
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		gotQuery.Store(string(ctx.QueryArgs().QueryString()))
		switch string(ctx.QueryArgs().Peek("after")) {
		case "1":
			api.WriteError(ctx, api.Errorf(api.ECodeGone, "too old"))
		case "5":
			body, _ := json.Marshal(api.Changes{Last: 7, Events: []api.Event{{Seq: 6, Type: api.EventDelete, ID: "9"}, {Seq: 7, Type: api.EventPurge, Keys: []string{"brand-x"}}}})
			ctx.SetBody(body)
		case "8":
			time.Sleep(300 * time.Millisecond) // a long poll that outlives the caller
			ctx.SetBodyString(`{"events":[],"last":8}`)
		}
	}, func(cfg *ClientConfig) { cfg.ChangesLimit = 50 })
	ch, err := c.Changes(context.Background(), 5, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Last != 7 || len(ch.Events) != 2 || ch.Events[0].ID != "9" || ch.Events[1].Keys[0] != "brand-x" {
		t.Fatalf("unexpected changes %+v", ch)
	}
	if q := gotQuery.Load().(string); q != "after=5&limit=50&wait=2000ms" {
		t.Fatalf("query %q", q)
	}
	if _, err := c.Changes(context.Background(), 1, time.Second); !errors.Is(err, ErrGone) {
		t.Fatalf("want ErrGone, got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	if _, err := c.Changes(ctx, 8, 5*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("cancel took %s; the poll must be abandoned", d)
	}
}

func TestClientSnapshotStreams(t *testing.T) {
	const n = 3000
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(api.SeqHeader, "77")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := 0; i < n; i++ {
				fmt.Fprintf(w, `{"id":"%d","slug":"p-%d","name":"Product %d","popularity":%d,"skus":[{"sku":"s%d","availability":"in_stock"}]}`+"\n", i, i, i, i, i)
				if i%500 == 0 {
					_ = w.Flush()
				}
			}
		})
	}, nil)
	seen := 0
	seq, err := c.Snapshot(context.Background(), func(p *api.Product, _ []byte) error {
		if p.ID != fmt.Sprint(seen) || p.SKUs[0].Availability != api.InStock {
			return fmt.Errorf("line %d: unexpected %+v", seen, p)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seq != 77 || seen != n {
		t.Fatalf("seq %d, seen %d", seq, seen)
	}
}

func TestClientSnapshotErrors(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 8<<10)
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.QueryArgs().Peek("case")) {
		default:
			ctx.Response.Header.Set(api.SeqHeader, "3")
			ctx.SetBodyString(`{"id":"1","slug":"a","name":"` + string(long) + `","skus":[]}` + "\n")
		}
	}, func(cfg *ClientConfig) { cfg.MaxLineBytes = 4 << 10 })
	_, err := c.Snapshot(context.Background(), func(*api.Product, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("want a line-too-long error, got %v", err)
	}

	c2 := startFake(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(api.SeqHeader, "3")
		ctx.SetBodyString("{\"id\":\"1\",\"skus\":[]}\n{\"id\":\"2\",\"skus\":[]}\n")
	}, nil)
	stop := errors.New("stop")
	calls := 0
	_, err = c2.Snapshot(context.Background(), func(*api.Product, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("want the callback's error after one call, got %v after %d", err, calls)
	}

	c3 := startFake(t, func(ctx *fasthttp.RequestCtx) {
		api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "loading"))
	}, nil)
	if _, err := c3.Snapshot(context.Background(), func(*api.Product, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("want a 503 error, got %v", err)
	}
}

func TestClientConfigValidate(t *testing.T) {
	f := func(mut func(*ClientConfig), field string) {
		t.Helper()
		cfg := DefaultClientConfig()
		mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Fatalf("want an error naming %s, got %v", field, err)
		}
	}
	if err := DefaultClientConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	f(func(c *ClientConfig) { c.Addrs = nil }, "addrs")
	f(func(c *ClientConfig) { c.Addrs = []string{""} }, "addrs[0]")
	f(func(c *ClientConfig) { c.Timeout = 0 }, "timeout")
	f(func(c *ClientConfig) { c.MaxLineBytes = 10 }, "max_line_bytes")
	f(func(c *ClientConfig) { c.ChangesLimit = 0 }, "changes_limit")
}

// TestClientSnapshotDecodesInOrder streams lines of very different sizes
// (batches cut by count and by bytes) through several decoders: every
// line arrives once, in order, with its own bytes, and a reused product
// never carries a field of an earlier line.
func TestClientSnapshotDecodesInOrder(t *testing.T) {
	const n = 2000
	lineOf := func(i int) string {
		brand := ""
		if i%3 == 0 {
			brand = `"brand":"B` + fmt.Sprint(i) + `",`
		}
		desc := strings.Repeat("d", (i%7)*(i%11)*500) // up to 30 KB
		return fmt.Sprintf(`{"id":"%d","slug":"p-%d","name":"P %d",%s"description":"%s","popularity":%d,"skus":[{"sku":"s%d"}]}`, i, i, i, brand, desc, i, i)
	}
	for _, workers := range []int{1, 3} {
		c := startFake(t, func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(api.SeqHeader, "9")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				for i := 0; i < n; i++ {
					_, _ = w.WriteString(lineOf(i) + "\n")
					if i == 10 {
						_, _ = w.WriteString("\n") // blank lines are skipped
					}
				}
			})
		}, func(cfg *ClientConfig) { cfg.DecodeWorkers = workers })
		seen := 0
		_, err := c.Snapshot(context.Background(), func(p *api.Product, line []byte) error {
			want := lineOf(seen)
			if string(line) != want || p.ID != fmt.Sprint(seen) || p.Popularity != int64(seen) {
				return fmt.Errorf("line %d: got id %s, line of %d bytes", seen, p.ID, len(line))
			}
			if (seen%3 == 0) != (p.Brand != "") {
				return fmt.Errorf("line %d: brand %q leaked from a reused product", seen, p.Brand)
			}
			seen++
			return nil
		})
		if err != nil || seen != n {
			t.Fatalf("workers %d: %v after %d lines", workers, err, seen)
		}
	}
}

func TestClientSnapshotMalformedLine(t *testing.T) {
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(api.SeqHeader, "3")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := 1; i <= 1000; i++ {
				if i == 700 {
					_, _ = w.WriteString("{\"id\":\n")
					continue
				}
				fmt.Fprintf(w, `{"id":"%d","skus":[]}`+"\n", i)
			}
		})
	}, nil)
	calls := 0
	_, err := c.Snapshot(context.Background(), func(p *api.Product, _ []byte) error { calls++; return nil })
	if err == nil || !strings.Contains(err.Error(), "line 700") || calls != 699 {
		t.Fatalf("want an error naming line 700 after 699 products, got %v after %d", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	_, err = c.Snapshot(ctx, func(p *api.Product, _ []byte) error {
		if calls++; calls == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls >= 1000 {
		t.Fatalf("want context.Canceled before the end, got %v after %d", err, calls)
	}
}

// TestClientSendsTokenAndLearnsCheckoutMax: every feed request carries the
// internal token; the longest checkout a core announces is kept; a 401
// names the setting to fix.
func TestClientSendsTokenAndLearnsCheckoutMax(t *testing.T) {
	var auths atomic.Int32
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Request.Header.Peek("Authorization")) != "Bearer feed-token-0123456789" {
			api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "no"))
			return
		}
		auths.Add(1)
		ctx.Response.Header.Set(api.HeaderCheckoutMax, "25000")
		switch string(ctx.Path()) {
		case "/internal/v1/snapshot":
			ctx.Response.Header.Set(api.SeqHeader, "3")
		case "/internal/v1/changes":
			ctx.SetBodyString(`{"events":[],"last":3}`)
		}
	}, func(cfg *ClientConfig) { cfg.Token = "feed-token-0123456789" })
	if c.CheckoutMax() != 0 {
		t.Fatalf("CheckoutMax before any answer: %v", c.CheckoutMax())
	}
	if _, err := c.Snapshot(context.Background(), func(*api.Product, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if c.CheckoutMax() != 25*time.Second {
		t.Fatalf("CheckoutMax after the snapshot: %v", c.CheckoutMax())
	}
	if _, err := c.Changes(context.Background(), 3, 0); err != nil {
		t.Fatal(err)
	}
	if auths.Load() != 2 {
		t.Fatalf("%d authorized requests, want 2", auths.Load())
	}
	bad := startFake(t, func(ctx *fasthttp.RequestCtx) { api.WriteError(ctx, api.Errorf(api.ECodeUnauthorized, "no")) }, nil)
	if _, err := bad.Changes(context.Background(), 0, 0); err == nil || !strings.Contains(err.Error(), "internal_token") {
		t.Fatalf("401: %v", err)
	}
}
