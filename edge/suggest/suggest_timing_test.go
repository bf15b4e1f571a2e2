package suggest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/suggest/demodata"
)

const queriesPath = sharedData + "/queries/bestbuy-queries.tsv"

// keystrokes returns every prefix a user types of the Best Buy queries
// (or of the golden queries when the shared data is absent).
func keystrokes(tb testing.TB) []string {
	tb.Helper()
	qs := goldenQueries
	if f, err := os.Open(queriesPath); err == nil {
		qs = nil
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if q, _, ok := strings.Cut(sc.Text(), "\t"); ok && q != "query" {
				qs = append(qs, q)
			}
		}
		f.Close()
	}
	var out []string
	for _, q := range qs {
		for i := range q {
			if i > 0 {
				out = append(out, q[:i])
			}
		}
		out = append(out, q)
	}
	return out
}

var (
	bigOnce sync.Once
	bigSvc  *Service
)

// generated returns a Service over n generated products (cached for the
// largest n asked in the process).
func generated(b testing.TB, n int) *Service {
	src := demoProducts(b)
	var ps []*api.Product
	if err := demodata.Generate(n, 1, src, func(p *api.Product) error { ps = append(ps, p); return nil }); err != nil {
		b.Fatal(err)
	}
	return newLoaded(b, DefaultConfig(), ps)
}

func benchLookup(b *testing.B, s *Service) {
	keys := keystrokes(b)
	x := s.idx.Load()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		st := newState()
		i := 0
		for pb.Next() {
			q := keys[i%len(keys)]
			i++
			if st.q.ParseQuery(q, 100, 10) != nil {
				continue
			}
			x.mu.RLock()
			x.lookup(st, 10)
			x.mu.RUnlock()
		}
	})
}

// BenchmarkLookup walks the index (no answer cache) for every keystroke
// of the Best Buy queries.
func BenchmarkLookup(b *testing.B) {
	b.Run("demo", func(b *testing.B) { benchLookup(b, newLoaded(b, DefaultConfig(), demoProducts(b))) })
	b.Run("1M", func(b *testing.B) {
		bigOnce.Do(func() { bigSvc = generated(b, 1_000_000) })
		benchLookup(b, bigSvc)
	})
}

// BenchmarkLookupBaseline is the twin of BenchmarkLookup: a binary search
// over the sorted normalised names (prefix of the whole name only, no
// ranking, no multi-word).
func BenchmarkLookupBaseline(b *testing.B) {
	ps := demoProducts(b)
	n := NewNormalizer()
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		_ = n.Normalize(p.Name)
		names = append(names, string(n.Text))
	}
	slices.Sort(names)
	keys := keystrokes(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := NewNormalizer()
		i, found := 0, 0
		for pb.Next() {
			_ = n.Normalize(keys[i%len(keys)])
			i++
			q := string(n.Text)
			j := sort.SearchStrings(names, q)
			for k := j; k < len(names) && k < j+10 && strings.HasPrefix(names[k], q); k++ {
				found++
			}
		}
		_ = found
	})
}

// BenchmarkSuggest builds whole answers (lookup, highlights, structs).
func BenchmarkSuggest(b *testing.B) {
	s := newLoaded(b, DefaultConfig(), demoProducts(b))
	keys := keystrokes(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = s.Suggest(keys[i%len(keys)], 10)
	}
}

// BenchmarkHandleHit serves cached answers; its twin serves the same
// bytes from a Go map keyed by the raw query.
func BenchmarkHandleHit(b *testing.B) {
	s := newLoaded(b, DefaultConfig(), demoProducts(b))
	keys := keystrokes(b)[:500]
	for _, k := range keys {
		serve(s, suggestURI(k, ""))
	}
	benchKeystrokes(b, keys, s.Handle)
}

func BenchmarkHandleHitBaseline(b *testing.B) {
	s := newLoaded(b, DefaultConfig(), demoProducts(b))
	keys := keystrokes(b)[:500]
	bodies := map[string][]byte{}
	for _, k := range keys {
		bodies[k] = slices.Clone(serve(s, suggestURI(k, "")).Response.Body())
	}
	benchKeystrokes(b, keys, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("application/json")
		ctx.SetBody(bodies[b2s(ctx.QueryArgs().Peek("q"))])
	})
}

// benchKeystrokes runs h in parallel over a request per keystroke of keys,
// each goroutine cycling through its own reused RequestCtxs.
func benchKeystrokes(b *testing.B, keys []string, h fasthttp.RequestHandler) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctxs := make([]*fasthttp.RequestCtx, len(keys))
		for i, k := range keys {
			ctxs[i] = new(fasthttp.RequestCtx)
			ctxs[i].Request.SetRequestURI(suggestURI(k, ""))
		}
		i := 0
		for pb.Next() {
			ctx := ctxs[i%len(ctxs)]
			i++
			ctx.Response.Reset()
			h(ctx)
		}
	})
}

// BenchmarkBuild loads generated products into a Service: Load copies
// each into a record, one at a time while the snapshot streams in
// (copy-s), and EndLoad builds the index over them (index-s). It reports
// bytes per product (estimated by Stats, and measured as the growth of
// runtime.MemStats.HeapAlloc and HeapInuse after a GC):
//
//	go test ./edge/suggest -run - -bench 'Build/1000000$' -benchtime 1x
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var ps []*api.Product
			if err := demodata.Generate(n, 1, demoProducts(b), func(p *api.Product) error { ps = append(ps, p); return nil }); err != nil {
				b.Fatal(err)
			}
			cfg := DefaultConfig()
			b.ResetTimer()
			var st Stats
			var heap, inuse uint64
			var copySec, indexSec, copyCPU, indexCPU float64
			for range b.N {
				b.StopTimer()
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				s := New(cfg, zerolog.Nop(), metrics.NewSet())
				s.BeginLoad()
				for _, p := range ps {
					s.Load(p)
				}
				t1, c1 := time.Now(), cpuTime()
				s.EndLoad(1)
				t2, c2 := time.Now(), cpuTime()
				b.StopTimer()
				copySec += t1.Sub(t0).Seconds()
				indexSec += t2.Sub(t1).Seconds()
				copyCPU += (c1 - c0).Seconds()
				indexCPU += (c2 - c1).Seconds()
				runtime.GC()
				runtime.ReadMemStats(&m1)
				st = s.Stats()
				heap = m1.HeapAlloc - m0.HeapAlloc
				inuse = m1.HeapInuse - m0.HeapInuse
				runtime.KeepAlive(s)
				b.StartTimer()
			}
			b.ReportMetric(float64(st.BytesPerProduct()), "est-bytes/product")
			b.ReportMetric(float64(heap)/float64(n), "heap-bytes/product")
			b.ReportMetric(float64(inuse)/float64(n), "inuse-bytes/product")
			b.ReportMetric(float64(st.Prefixes), "prefixes")
			b.ReportMetric(copySec/float64(b.N), "copy-s")
			b.ReportMetric(indexSec/float64(b.N), "index-s")
			b.ReportMetric(copyCPU/float64(b.N), "copy-cpu-s")
			b.ReportMetric(indexCPU/float64(b.N), "index-cpu-s")
		})
	}
}

// cpuTime returns the CPU time the process has used (every thread,
// garbage collection included): on a shared machine it shows the work a
// phase did when its wall time mostly shows the other tenants.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLookupPercentiles replays every keystroke of the Best Buy
// queries once per iteration and reports the latency percentiles of the
// index walk (walk-p50/p99, µs) and of the whole uncached answer
// (answer-p99, µs), at demo size and at 1M generated products:
//
//	go test ./edge/suggest -run - -bench LookupPercentiles -benchtime 1x
//
// The "categorywords" twins index the leaf categories' words too
// (Config.CategoryWords, the behaviour before it was off by default).
func BenchmarkLookupPercentiles(b *testing.B) {
	b.Run("demo", func(b *testing.B) { benchPercentiles(b, newLoaded(b, DefaultConfig(), demoProducts(b))) })
	b.Run("demo-categorywords", func(b *testing.B) {
		cfg := DefaultConfig()
		cfg.CategoryWords = true
		benchPercentiles(b, newLoaded(b, cfg, demoProducts(b)))
	})
	b.Run("1M", func(b *testing.B) {
		bigOnce.Do(func() { bigSvc = generated(b, 1_000_000) })
		benchPercentiles(b, bigSvc)
	})
	b.Run("1M-categorywords", func(b *testing.B) {
		src := demoProducts(b)
		cfg := DefaultConfig()
		cfg.CategoryWords = true
		s := New(cfg, zerolog.Nop(), metrics.NewSet())
		s.BeginLoad()
		if err := demodata.Generate(1_000_000, 1, src, func(p *api.Product) error { s.Load(p); return nil }); err != nil {
			b.Fatal(err)
		}
		s.EndLoad(1)
		benchPercentiles(b, s)
	})
}

func benchPercentiles(b *testing.B, s *Service) {
	keys := keystrokes(b)
	// Per keystroke, the fastest of the b.N replays: on a shared machine
	// a single replay's tail is mostly the scheduler's.
	walkMin := make([]time.Duration, len(keys))
	answerMin := make([]time.Duration, len(keys))
	x := s.idx.Load()
	st := newState()
	b.ResetTimer()
	for n := range b.N {
		for i, k := range keys {
			t0 := time.Now()
			if st.q.ParseQuery(k, 100, 10) == nil {
				x.mu.RLock()
				x.lookup(st, 10)
				x.mu.RUnlock()
			}
			t1 := time.Now()
			_, _ = s.Suggest(k, 10)
			t2 := time.Now()
			if n == 0 || t1.Sub(t0) < walkMin[i] {
				walkMin[i] = t1.Sub(t0)
			}
			if n == 0 || t2.Sub(t1) < answerMin[i] {
				answerMin[i] = t2.Sub(t1)
			}
		}
	}
	walk := hdrhistogram.New(1, int64(time.Second), 3)
	answer := hdrhistogram.New(1, int64(time.Second), 3)
	for i := range keys {
		_ = walk.RecordValue(walkMin[i].Nanoseconds())
		_ = answer.RecordValue(answerMin[i].Nanoseconds())
	}
	b.ReportMetric(float64(walk.ValueAtQuantile(50))/1e3, "walk-p50-µs")
	b.ReportMetric(float64(walk.ValueAtQuantile(99))/1e3, "walk-p99-µs")
	b.ReportMetric(float64(answer.ValueAtQuantile(50))/1e3, "answer-p50-µs")
	b.ReportMetric(float64(answer.ValueAtQuantile(99))/1e3, "answer-p99-µs")
}

// BenchmarkBuildBaseline is the twin of BenchmarkBuild: the same products
// indexed as Go values, the way the index is not built — a struct of
// strings per product and a map from every prefix string to its count
// and best Depth products (filled in rank order, one pass) — with the
// same metrics:
//
//	go test ./edge/suggest -run - -bench 'BuildBaseline/1000000$' -benchtime 1x
func BenchmarkBuildBaseline(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var ps []*api.Product
			if err := demodata.Generate(n, 1, demoProducts(b), func(p *api.Product) error { ps = append(ps, p); return nil }); err != nil {
				b.Fatal(err)
			}
			cfg := DefaultConfig()
			b.ResetTimer()
			var heap, inuse uint64
			var prefixes int
			var sec, cpu float64
			for range b.N {
				b.StopTimer()
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				x := buildBaseline(&cfg, ps)
				sec += time.Since(t0).Seconds()
				cpu += (cpuTime() - c0).Seconds()
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&m1)
				heap = m1.HeapAlloc - m0.HeapAlloc
				inuse = m1.HeapInuse - m0.HeapInuse
				prefixes = len(x.prefixes)
				runtime.KeepAlive(x)
				b.StartTimer()
			}
			b.ReportMetric(float64(heap)/float64(n), "heap-bytes/product")
			b.ReportMetric(float64(inuse)/float64(n), "inuse-bytes/product")
			b.ReportMetric(float64(prefixes), "prefixes")
			b.ReportMetric(sec/float64(b.N), "index-s")
			b.ReportMetric(cpu/float64(b.N), "index-cpu-s")
		})
	}
}

type baseProduct struct {
	id, name, url, image, currency string
	price, score                   int64
}

type basePrefix struct {
	count int
	stamp int // product + 1 that last counted here
	best  []int32
}

type baseIndex struct {
	products []baseProduct
	prefixes map[string]*basePrefix
}

func buildBaseline(cfg *Config, ps []*api.Product) *baseIndex {
	x := &baseIndex{prefixes: map[string]*basePrefix{}}
	leaf := make([]string, len(ps))
	for i, p := range ps {
		pr := productOf(cfg, p)
		leaf[i] = pr.leaf
		x.products = append(x.products, baseProduct{
			id: strings.Clone(p.ID), name: strings.Clone(p.Name), url: "/products/" + p.Slug,
			image: strings.Clone(p.Image), currency: strings.Clone(pr.text[fCurrency]), price: pr.price, score: pr.score,
		})
	}
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		pa, pb := &x.products[a], &x.products[b]
		if pa.score != pb.score {
			if pa.score > pb.score {
				return -1
			}
			return 1
		}
		return strings.Compare(pa.id, pb.id)
	})
	n := NewNormalizer()
	for _, o := range order {
		for _, text := range [...]string{ps[o].Name, ps[o].Brand, leaf[o]} {
			if n.Normalize(text) != nil {
				continue
			}
			for k := range n.Words {
				w := n.Word(k)
				chars := 0
				for i := 1; i <= len(w) && chars < cfg.MaxPrefixLen; i++ {
					if i < len(w) && w[i]&0xC0 == 0x80 {
						continue
					}
					chars++
					p := x.prefixes[b2s(w[:i])]
					if p == nil {
						p = &basePrefix{}
						x.prefixes[string(w[:i])] = p
					}
					if p.stamp == o+1 {
						continue
					}
					p.stamp = o + 1
					p.count++
					if len(p.best) < cfg.Depth {
						p.best = append(p.best, int32(o))
					}
				}
			}
		}
	}
	return x
}

// BenchmarkLookupPercentilesBaseline is the twin of
// BenchmarkLookupPercentiles: the same replay and percentiles of a binary
// search over the sorted normalised names (as BenchmarkLookupBaseline), at
// demo size and over the 1M generated names. On a shared machine its tail
// shows what the machine adds to any lookup.
func BenchmarkLookupPercentilesBaseline(b *testing.B) {
	names := func(ps []*api.Product) []string {
		n := NewNormalizer()
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			_ = n.Normalize(p.Name)
			out = append(out, string(n.Text))
		}
		slices.Sort(out)
		return out
	}
	b.Run("demo", func(b *testing.B) { benchPercentilesBaseline(b, names(demoProducts(b))) })
	b.Run("1M", func(b *testing.B) {
		var ps []*api.Product
		if err := demodata.Generate(1_000_000, 1, demoProducts(b), func(p *api.Product) error { ps = append(ps, p); return nil }); err != nil {
			b.Fatal(err)
		}
		benchPercentilesBaseline(b, names(ps))
	})
}

func benchPercentilesBaseline(b *testing.B, names []string) {
	keys := keystrokes(b)
	walkMin := make([]time.Duration, len(keys))
	n := NewNormalizer()
	found := 0
	b.ResetTimer()
	for r := range b.N {
		for i, k := range keys {
			t0 := time.Now()
			if n.ParseQuery(k, 100, 10) == nil {
				q := b2s(n.Text)
				j := sort.SearchStrings(names, q)
				for k := j; k < len(names) && k < j+10 && strings.HasPrefix(names[k], q); k++ {
					found++
				}
			}
			if d := time.Since(t0); r == 0 || d < walkMin[i] {
				walkMin[i] = d
			}
		}
	}
	walk := hdrhistogram.New(1, int64(time.Second), 3)
	for i := range keys {
		_ = walk.RecordValue(walkMin[i].Nanoseconds())
	}
	b.ReportMetric(float64(walk.ValueAtQuantile(50))/1e3, "walk-p50-µs")
	b.ReportMetric(float64(walk.ValueAtQuantile(99))/1e3, "walk-p99-µs")
	_ = found
}

// applyEvents returns n generated products and, cycling over them, change
// events of three kinds: a popularity change (the lists reorder), a
// rename (words, postings and lists change) and a delete followed by the
// product's return.
func applyEvents(b *testing.B, n int) ([]*api.Product, []api.Event) {
	var ps []*api.Product
	if err := demodata.Generate(n, 1, demoProducts(b), func(p *api.Product) error { ps = append(ps, p); return nil }); err != nil {
		b.Fatal(err)
	}
	var evs []api.Event
	seq := uint64(1)
	for i := 0; i < 3000; i++ {
		p := *ps[(i*7919)%len(ps)]
		seq++
		switch i % 4 {
		case 0:
			p.Popularity = p.Popularity*3 + 1
			evs = append(evs, api.Event{Seq: seq, Type: api.EventUpsert, Product: &p})
		case 1:
			p.Name = ps[(i*104729)%len(ps)].Name
			evs = append(evs, api.Event{Seq: seq, Type: api.EventUpsert, Product: &p})
		case 2:
			evs = append(evs, api.Event{Seq: seq, Type: api.EventDelete, ID: p.ID})
		case 3:
			prev := *ps[((i-1)*7919)%len(ps)]
			evs = append(evs, api.Event{Seq: seq, Type: api.EventUpsert, Product: &prev})
		}
	}
	return ps, evs
}

// BenchmarkApply applies change events to an index of 200,000 generated
// products (one event per op):
//
//	go test ./edge/suggest -run - -bench 'Apply' -benchtime 3000x
func BenchmarkApply(b *testing.B) {
	ps, evs := applyEvents(b, 200_000)
	s := newLoaded(b, DefaultConfig(), ps)
	base := evs[len(evs)-1].Seq
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := evs[i%len(evs)]
		ev.Seq += base * uint64(i/len(evs)) // replays stay newer
		s.Apply(&ev)
	}
}

// BenchmarkApplyBaseline is the twin of BenchmarkApply: the same events
// kept in a Go map of products by id, nothing indexed.
func BenchmarkApplyBaseline(b *testing.B) {
	ps, evs := applyEvents(b, 200_000)
	m := make(map[string]*api.Product, len(ps))
	for _, p := range ps {
		m[p.ID] = p
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := &evs[i%len(evs)]
		if ev.Type == api.EventDelete {
			delete(m, ev.ID)
		} else {
			m[ev.Product.ID] = ev.Product
		}
	}
}

// BenchmarkLoad measures what a snapshot load of 1M generated products
// costs the cold start: BeginLoad, Load × N on one goroutine (as the
// follower calls it), then EndLoad. Products are generated as the load
// goes, as the follower decodes them (fresh copies, see decoded), and
// dropped after Load. The
// follower does other work between Loads (decoding, page rendering):
// "paced" adds pace-us of CPU between Loads, "tight" none. It reports
// load-s, the caller's time inside Load calls; endload-s, EndLoad's wall
// time; their sum share-s (suggest's part of the cold start's critical
// path); the stream's wall (stream-s); the CPU of the stream and of
// EndLoad (load-cpu-s, endload-cpu-s: the whole process, generation
// included); and the peak live heap over the one before BeginLoad
// (peak-live-MB, sampled every 2 ms); and how many times Load waited
// for the index's load goroutine (load-waits, when it has one):
//
//	go test ./edge/suggest -run - -bench '^BenchmarkLoad$' -benchtime 1x -count 3
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	src := demoProducts(b)
	for _, pace := range []time.Duration{0, 4 * time.Microsecond} {
		name := "tight"
		if pace > 0 {
			name = "paced"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(float64(pace.Microseconds()), "pace-us")
			var loadSec, streamSec, endSec, loadCPU, endCPU, peak, waits float64
			for range b.N {
				b.StopTimer()
				ms := metrics.NewSet()
				s := New(DefaultConfig(), zerolog.Nop(), ms)
				runtime.GC()
				live0 := liveHeap()
				stop, peakc := make(chan struct{}), make(chan uint64)
				go samplePeak(stop, peakc)
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				s.BeginLoad()
				var inLoad time.Duration
				err := demodata.Generate(n, 1, src, func(p *api.Product) error {
					p = decoded(p)
					t := time.Now()
					s.Load(p)
					now := time.Now()
					inLoad += now.Sub(t)
					for pace > 0 && time.Since(now) < pace {
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				t1, c1 := time.Now(), cpuTime()
				pprof.Do(context.Background(), pprof.Labels("phase", "endload"), func(context.Context) { s.EndLoad(1) })
				t2, c2 := time.Now(), cpuTime()
				b.StopTimer()
				close(stop)
				pk := <-peakc
				peak += float64(pk-min(live0, pk)) / (1 << 20)
				if got := s.Stats().Products; got != n {
					b.Fatalf("%d products indexed, want %d", got, n)
				}
				if c := ms.GetOrCreateCounter(`shopedge_suggest_load_waits_total`); c != nil {
					waits += float64(c.Get())
				}
				loadSec += inLoad.Seconds()
				streamSec += t1.Sub(t0).Seconds()
				endSec += t2.Sub(t1).Seconds()
				loadCPU += (c1 - c0).Seconds()
				endCPU += (c2 - c1).Seconds()
				b.StartTimer()
			}
			nb := float64(b.N)
			b.ReportMetric(loadSec/nb, "load-s")
			b.ReportMetric(endSec/nb, "endload-s")
			b.ReportMetric((loadSec+endSec)/nb, "share-s")
			b.ReportMetric(streamSec/nb, "stream-s")
			b.ReportMetric(loadCPU/nb, "load-cpu-s")
			b.ReportMetric(endCPU/nb, "endload-cpu-s")
			b.ReportMetric(peak/nb, "peak-live-MB")
			b.ReportMetric(waits/nb, "load-waits")
		})
	}
}

// decoded returns a copy of p whose strings and slices are its own, as
// the follower's JSON decoder hands them over (generated products share
// their categories and images with the demo catalog's, scattered in
// memory, and would make Load pay for cache misses decoding pays for).
func decoded(p *api.Product) *api.Product {
	q := *p
	q.ID, q.Slug, q.Name, q.Brand, q.Image = strings.Clone(p.ID), strings.Clone(p.Slug), strings.Clone(p.Name), strings.Clone(p.Brand), strings.Clone(p.Image)
	q.Categories = make([]string, len(p.Categories))
	for i, c := range p.Categories {
		q.Categories[i] = strings.Clone(c)
	}
	q.SKUs = slices.Clone(p.SKUs)
	for i := range q.SKUs {
		if m := q.SKUs[i].Price; m != nil {
			q.SKUs[i].Price = &api.Money{Amount: m.Amount, Currency: strings.Clone(m.Currency)}
		}
		q.SKUs[i].Availability = strings.Clone(q.SKUs[i].Availability)
	}
	return &q
}

// liveHeap returns the heap marked live by the last garbage collection.
func liveHeap() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

// samplePeak sends the largest liveHeap seen until stop is closed.
func samplePeak(stop <-chan struct{}, peak chan<- uint64) {
	var max uint64
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if v := liveHeap(); v > max {
			max = v
		}
		select {
		case <-stop:
			peak <- max
			return
		case <-t.C:
		}
	}
}
