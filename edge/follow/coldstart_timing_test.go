package follow

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/edge/pages"
	"shopedge/edge/suggest"
)

// syntheticLines returns NDJSON templates recombined from the real Best Buy
// phones (names, brands, categories, descriptions, images) with a fixed
// seed; "\x00" marks where the product number goes.
func syntheticLines(tb testing.TB) [][]byte {
	tb.Helper()
	raw, err := os.ReadFile("/work/shared/data/catalog/bestbuy-phones.json")
	if err != nil {
		tb.Skipf("real data not available: %v", err)
	}
	var src []struct {
		Name, Description, Brand, Image string
		Categories                      []string
		Price                           float64
		Popularity                      int64
	}
	if err := json.Unmarshal(raw, &src); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bands := []string{api.InStock, api.LowStock, api.OutOfStock}
	out := make([][]byte, 0, 4096)
	for i := 0; i < 4096; i++ {
		a, b := src[rng.IntN(len(src))], src[rng.IntN(len(src))]
		words := strings.Fields(b.Name)
		name := a.Brand + " " + strings.Join(words[min(2, len(words)-1):], " ")
		p := api.Product{ID: "\x00", Slug: api.KeyToken(name) + "-\x00", Name: name, Brand: a.Brand, Categories: b.Categories,
			Description: a.Description, Image: a.Image, Popularity: a.Popularity,
			SKUs: []api.SKU{{SKU: "\x00", Price: &api.Money{Amount: int64(b.Price*100 + 0.5), Currency: "USD"}, Availability: bands[rng.IntN(3)]}}}
		line, _ := json.Marshal(p)
		out = append(out, line)
	}
	return out
}

// serveSynthetic streams n products built from templates.
func serveSynthetic(tb testing.TB, n int, tmpl [][]byte) string {
	parts := make([][][]byte, len(tmpl))
	for i, t := range tmpl {
		parts[i] = splitZero(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/internal/v1/snapshot" {
			time.Sleep(100 * time.Millisecond)
			ctx.SetBodyString(`{"events":[],"last":1}`)
			return
		}
		ctx.Response.Header.Set(api.SeqHeader, "1")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			var num []byte
			for i := 0; i < n; i++ {
				num = strconv.AppendInt(num[:0], int64(i+1), 10)
				for _, part := range parts[i%len(parts)] {
					if part == nil {
						_, _ = w.Write(num)
						continue
					}
					_, _ = w.Write(part)
				}
				_ = w.WriteByte('\n')
			}
		})
	}}
	go srv.Serve(ln) //nolint:errcheck
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// splitZero splits b at the \u0000 escapes, a nil part marking each.
func splitZero(b []byte) [][]byte {
	var parts [][]byte
	for {
		i := strings.Index(string(b), `\u0000`)
		if i < 0 {
			return append(parts, b)
		}
		parts = append(parts, b[:i], nil)
		b = b[i+6:]
	}
}

// cpuSeconds returns the process's user+system CPU time: on a shared
// machine it shows the work a cold start needs regardless of contention
// (the in-process snapshot server's share included).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkColdStart measures snapshot → ready for SHOPEDGE_COLDSTART_N
// products (default 100000) into a page store with the default 512 MiB
// cache and, as the edge wires it, the autocomplete index (unless
// SHOPEDGE_COLDSTART_SUGGEST=0); it reports seconds to ready, CPU seconds,
// products/s, the process RSS and heap. Run with -benchtime=1x.
func BenchmarkColdStart(b *testing.B) {
	n := 100000
	if v := os.Getenv("SHOPEDGE_COLDSTART_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	addr := serveSynthetic(b, n, syntheticLines(b))
	ccfg := coreclient.DefaultClientConfig()
	ccfg.Addrs = []string{addr}
	client, err := coreclient.NewClient(ccfg)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	var took time.Duration
	for i := 0; i < b.N; i++ {
		ps, err := pages.New(pages.DefaultConfig(), zerolog.Nop(), metrics.NewSet())
		if err != nil {
			b.Fatal(err)
		}
		pl := pages.NewLoader(ps)
		sinks := []Sink{pl}
		if os.Getenv("SHOPEDGE_COLDSTART_SUGGEST") != "0" {
			sinks = append(sinks, suggest.New(suggest.DefaultConfig(), zerolog.Nop(), metrics.NewSet()))
		}
		f, _ := New(client, sinks, DefaultConfig(), zerolog.Nop(), metrics.NewSet())
		ctx, cancel := context.WithCancel(context.Background())
		cpu0 := cpuSeconds()
		start := time.Now()
		done := make(chan struct{})
		go func() { f.Run(ctx); close(done) }()
		for !f.Ready() {
			time.Sleep(10 * time.Millisecond)
		}
		took = time.Since(start)
		b.ReportMetric(cpuSeconds()-cpu0, "cpu-s")
		if ps.Len() != n {
			b.Fatalf("loaded %d of %d products", ps.Len(), n)
		}
		b.ReportMetric(rssMB(), "rss-MB")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MB")
		if ps.Len() == 0 { // keep the store reachable until measured
			b.Fatal("empty store")
		}
		cancel()
		<-done
		pl.Close()
	}
	b.ReportMetric(took.Seconds(), "s-to-ready")
	b.ReportMetric(float64(n)/took.Seconds(), "products/s")
	fmt.Fprintf(os.Stderr, "cold start: %d products in %s\n", n, took)
}
