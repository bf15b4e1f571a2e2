package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	edgepages "shopedge/edge/pages"
)

// fakeServer serves h on 127.0.0.1:0 for the test.
func fakeServer(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: h}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}

func TestSummaryPercentilesAndRatio(t *testing.T) {
	r := NewRecorder()
	for i := 1; i <= 1000; i++ {
		kind := ""
		if i%100 == 0 {
			kind = "status_503"
		}
		r.Record(time.Duration(i)*time.Millisecond, kind)
	}
	s := r.Summarize(2 * time.Second)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > want*0.002 {
			t.Fatalf("%s = %g, want ≈ %g", name, got, want)
		}
	}
	if s.Requests != 1000 || s.OK != 990 || s.Errors["status_503"] != 10 || s.ErrorCount() != 10 {
		t.Fatalf("counts: %+v", s)
	}
	near("rps", s.RPS, 500)
	near("p50", s.P50Ms, 500)
	near("p90", s.P90Ms, 900)
	near("p99", s.P99Ms, 990)
	near("p99.9", s.P999Ms, 999)
	near("max", s.MaxMs, 1000)
	near("mean", s.MeanMs, 500.5)

	base := &Summary{RPS: 1000, P50Ms: 250, P99Ms: 495}
	ratio := s.RatioTo(base)
	near("ratio rps", ratio.RPS, 0.5)
	near("ratio p50", ratio.P50, 2)
	near("ratio p99", ratio.P99, 2)
	if z := s.RatioTo(&Summary{}); z != (Ratio{}) {
		t.Fatalf("ratio to an empty baseline: %+v", z)
	}
}

func TestRecorderMerge(t *testing.T) {
	a, b := NewRecorder(), NewRecorder()
	a.Record(time.Millisecond, "")
	b.Record(3*time.Millisecond, "timeout")
	b.Record(5*time.Millisecond, "timeout")
	a.Merge(b)
	s := a.Summarize(time.Second)
	if s.Requests != 3 || s.OK != 1 || s.Errors["timeout"] != 2 || s.MaxMs < 4.99 || s.MaxMs > 5.01 {
		t.Fatalf("merged: %+v", s)
	}
}

func TestZipf(t *testing.T) {
	z, err := NewZipf(1000, 1.1)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for k := 0; k < z.N(); k++ {
		sum += z.Prob(k)
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("probabilities sum to %g", sum)
	}
	if want := math.Pow(2, 1.1); math.Abs(z.Prob(0)/z.Prob(1)-want) > 1e-9 {
		t.Fatalf("P(0)/P(1) = %g, want %g", z.Prob(0)/z.Prob(1), want)
	}
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, z.N())
	const n = 200000
	for i := 0; i < n; i++ {
		k := z.Sample(r)
		if k < 0 || k >= z.N() {
			t.Fatalf("sample %d out of range", k)
		}
		counts[k]++
	}
	for _, k := range []int{0, 1, 9} {
		got, want := float64(counts[k])/n, z.Prob(k)
		if math.Abs(got-want) > 0.05*want {
			t.Fatalf("rank %d: frequency %g, want ≈ %g", k, got, want)
		}
	}
	if _, err := NewZipf(0, 1.1); err == nil {
		t.Fatal("n=0 accepted")
	}
	if _, err := NewZipf(10, 0); err == nil {
		t.Fatal("s=0 accepted")
	}
}

func TestKeystrokes(t *testing.T) {
	f := func(q string, want ...string) {
		t.Helper()
		if got := Keystrokes(q); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("Keystrokes(%q) = %q, want %q", q, got, want)
		}
	}
	f("tv", "t", "tv")
	f("sam tv", "s", "sa", "sam", "sam ", "sam t", "sam tv")
	f("café", "c", "ca", "caf", "café")
	f("")
}

func TestLoadQueriesAndSuggestPaths(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.tsv")
	data := "query\tpopularity\tnb_words\nipad\t10\t1\n\t3\t0\nsam tv\t7\t2\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := LoadQueries(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Query{{"ipad", 10}, {"sam tv", 7}}; !reflect.DeepEqual(qs, want) {
		t.Fatalf("queries %+v, want %+v", qs, want)
	}
	paths := SuggestPaths(qs, 10)
	if len(paths) != 4+6 || paths[0] != "/v1/suggest?q=i&limit=10" || paths[7] != "/v1/suggest?q=sam+&limit=10" {
		t.Fatalf("paths %q", paths)
	}
}

func TestLoadRealQueries(t *testing.T) {
	p := "../../shared/data/queries/bestbuy-queries.tsv"
	if _, err := os.Stat(p); err != nil {
		t.Skip("shared query data not present")
	}
	qs, err := LoadQueries(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 1000 || qs[0].Text != "cooktop" || qs[0].Popularity != 1214 {
		t.Fatalf("%d queries, first %+v", len(qs), qs[0])
	}
}

func TestScheduleOffset(t *testing.T) {
	f := func(i int64, rate float64, want time.Duration) {
		t.Helper()
		if got := ScheduleOffset(i, rate); got != want {
			t.Fatalf("ScheduleOffset(%d, %g) = %s, want %s", i, rate, got, want)
		}
	}
	f(0, 1000, 0)
	f(1, 1000, time.Millisecond)
	f(20000, 20000, time.Second)
	f(3, 3, time.Second)
}

func TestErrorKind(t *testing.T) {
	ok := fakeServer(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/slow":
			time.Sleep(time.Second)
		case "/missing":
			ctx.SetStatusCode(404)
		case "/down":
			ctx.SetStatusCode(503)
		}
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	f := func(addr, path, want string) {
		t.Helper()
		// Only /slow must time out; every other answer gets a generous
		// timeout so a busy machine (tests under -race) cannot turn it
		// into "timeout".
		timeout := 5 * time.Second
		if path == "/slow" {
			timeout = 100 * time.Millisecond
		}
		c := NewClient(addr, 1, timeout)
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		err := c.DoTimeout(req, resp, timeout)
		if got := ErrorKind(err, resp.StatusCode()); got != want {
			t.Fatalf("%s%s: kind %q (err %v), want %q", addr, path, got, err, want)
		}
	}
	f(ok, "/", "")
	f(ok, "/missing", "status_404")
	f(ok, "/down", "status_503")
	f(ok, "/slow", "timeout")
	f(dead, "/", "connect")
}

func TestRunClosedLoopAgainstBaseline(t *testing.T) {
	b, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := NewClient(b.Addr(), 4, time.Second)
	var bodyLen atomic.Int64
	op := func(w *Worker) string {
		kind := GetPaths(c, time.Second, []string{"/a", "/b"})(w)
		bodyLen.Store(int64(len(w.Resp.Body())))
		return kind
	}
	s, err := Run(context.Background(), Options{Concurrency: 4, MaxRequests: 500, Duration: 10 * time.Second, Timeout: time.Second}, op)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 500 || s.OK != 500 || s.RPS <= 0 || s.P50Ms <= 0 {
		t.Fatalf("summary %+v", s)
	}
	if s.BodyBytes != BaselineBodySize {
		t.Fatalf("mean body %g bytes, want %d", s.BodyBytes, BaselineBodySize)
	}
	if bodyLen.Load() != BaselineBodySize || !json.Valid(BaselineBody()) {
		t.Fatalf("baseline body %d bytes, valid JSON %v", bodyLen.Load(), json.Valid(BaselineBody()))
	}
}

// TestProxyBaselineForwards: the proxy baseline passes requests and
// answers through unchanged, and says 502 when the server behind is gone.
func TestProxyBaselineForwards(t *testing.T) {
	addr := fakeServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.Response.Header.Set("X-Seen", string(ctx.Method())+" "+string(ctx.RequestURI())+" "+string(ctx.PostBody()))
		ctx.SetBodyString("created")
	})
	p, err := StartProxyBaseline("127.0.0.1:0", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + p.Addr() + "/v1/carts/c1?x=1")
	req.Header.SetMethod("POST")
	req.SetBodyString(`{"q":1}`)
	if err := fasthttp.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 201 || string(resp.Body()) != "created" ||
		string(resp.Header.Peek("X-Seen")) != `POST /v1/carts/c1?x=1 {"q":1}` {
		t.Fatalf("%d %q %q", resp.StatusCode(), resp.Body(), resp.Header.Peek("X-Seen"))
	}
	dead, err := StartProxyBaseline("127.0.0.1:0", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	req.SetRequestURI("http://" + dead.Addr() + "/")
	if err := fasthttp.Do(req, resp); err != nil || resp.StatusCode() != 502 {
		t.Fatalf("dead target: %v %d", err, resp.StatusCode())
	}
	if _, err := StartProxyBaseline("127.0.0.1:0", ""); err == nil {
		t.Fatal("a proxy to nowhere started")
	}
}

// TestOpenLoopShowsQueueing drives a server that takes 10ms per request
// with one worker at 400 req/s: the closed loop sees ~10ms, the open loop
// counts from each scheduled time and sees the queue grow.
func TestOpenLoopShowsQueueing(t *testing.T) {
	addr := fakeServer(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(10 * time.Millisecond) })
	c := NewClient(addr, 1, 5*time.Second)
	op := GetPaths(c, 5*time.Second, []string{"/"})
	closed, err := Run(context.Background(), Options{Concurrency: 1, MaxRequests: 30, Duration: 5 * time.Second, Timeout: 5 * time.Second}, op)
	if err != nil {
		t.Fatal(err)
	}
	open, err := Run(context.Background(), Options{Concurrency: 1, Rate: 400, Duration: 250 * time.Millisecond, Timeout: 5 * time.Second}, op)
	if err != nil {
		t.Fatal(err)
	}
	if open.Requests != 100 {
		t.Fatalf("open loop sent %d requests, want 100 (250ms at 400/s)", open.Requests)
	}
	// 100 requests at 10ms each take ≥1s; the last was due at 250ms.
	if open.MaxMs < 500 || open.P99Ms < 5*closed.P99Ms {
		t.Fatalf("open loop max %.1fms p99 %.1fms vs closed p99 %.1fms: queueing not measured", open.MaxMs, open.P99Ms, closed.P99Ms)
	}
}

func TestOpenLoopKeepsRate(t *testing.T) {
	var hits atomic.Int64
	addr := fakeServer(t, func(ctx *fasthttp.RequestCtx) { hits.Add(1) })
	c := NewClient(addr, 8, time.Second)
	s, err := Run(context.Background(), Options{Concurrency: 8, Rate: 1000, Duration: 300 * time.Millisecond, Timeout: time.Second}, GetPaths(c, time.Second, []string{"/"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 300 || hits.Load() != 300 {
		t.Fatalf("sent %d, server saw %d; want 300", s.Requests, hits.Load())
	}
	if s.Seconds < 0.29 {
		t.Fatalf("300 requests at 1000/s finished in %.3fs: not paced", s.Seconds)
	}
}

func TestOptionsValidate(t *testing.T) {
	f := func(o Options, field string) {
		t.Helper()
		err := o.Validate()
		if field == "" {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		if err == nil || !strings.HasPrefix(err.Error(), field) {
			t.Fatalf("error %v, want one naming %s", err, field)
		}
	}
	f(DefaultOptions(), "")
	f(Options{Concurrency: 0, Duration: time.Second, Timeout: time.Second}, "concurrency")
	f(Options{Concurrency: 1, Timeout: time.Second}, "duration")
	f(Options{Concurrency: 1, Duration: time.Second}, "timeout")
	f(Options{Concurrency: 1, Duration: time.Second, Timeout: time.Second, Rate: -1}, "rate")
}

func TestReportMarkdownAndJSON(t *testing.T) {
	r := NewReport("products", Options{Concurrency: 8, Duration: time.Second, Timeout: time.Second})
	r.Baseline = &Summary{RPS: 1000, P50Ms: 1, P99Ms: 2}
	r.Add("edge product JSON", "http://x/v1/products/{id}", &Summary{RPS: 800, P50Ms: 1, P99Ms: 3, Errors: map[string]int64{"status_404": 2}})
	r.Fact("edge_rss_mb", 42)
	md := r.Markdown()
	for _, want := range []string{"| edge product JSON | 800 |", "status_404: 2", "| 0.800 | 1.50 |", "| edge_rss_mb | 42 |"} {
		if !strings.Contains(md, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, md)
		}
	}
	jp, mp, err := r.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	b, _ := os.ReadFile(jp)
	if err := json.Unmarshal(b, &back); err != nil || back.Runs[0].Ratio.RPS != 0.8 {
		t.Fatalf("json round trip: %v %+v", err, back.Runs)
	}
	if _, err := os.Stat(mp); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogBaselineServesEachProduct: the catalog baseline answers each
// product's path with its page (here the edge's JSON rendering), with the
// edge's headers when asked, and 404 for anything else.
func TestCatalogBaselineServesEachProduct(t *testing.T) {
	ps := []*api.Product{
		{ID: "p1", Slug: "phone-p1", Name: "Phone", Brand: "Acme", Categories: []string{"Phones"},
			SKUs: []api.SKU{{SKU: "p1", Price: &api.Money{Amount: 100, Currency: "USD"}}}},
		{ID: "p2", Slug: "case-p2", Name: "Case", Brand: "Acme",
			SKUs: []api.SKU{{SKU: "p2", Price: &api.Money{Amount: 5, Currency: "USD"}}}},
	}
	var pages []CatalogPage
	for _, p := range ps {
		r, err := edgepages.RenderJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, CatalogPage{Path: []byte("/v1/products/" + p.ID),
			Body: r.Bodies[edgepages.JSON], ETag: r.ETags[edgepages.JSON], SurrogateKey: r.SurrogateKey})
	}
	for _, headers := range []bool{false, true} {
		b, err := StartCatalogBaseline("127.0.0.1:0", pages, headers)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			want, err := edgepages.RenderJSON(p)
			if err != nil {
				t.Fatal(err)
			}
			status, body, err := fasthttp.Get(nil, "http://"+b.Addr()+"/v1/products/"+p.ID)
			if err != nil || status != 200 || string(body) != string(want.Bodies[edgepages.JSON]) {
				t.Fatalf("headers %v, %s: %v %d %q", headers, p.ID, err, status, body)
			}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + b.Addr() + "/v1/products/" + p.ID)
			if err := fasthttp.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			etag, sk := string(resp.Header.Peek("ETag")), string(resp.Header.Peek("Surrogate-Key"))
			if headers && (etag != string(want.ETags[edgepages.JSON]) || sk != string(want.SurrogateKey) ||
				string(resp.Header.Peek("Cache-Control")) != CatalogCacheControl) {
				t.Fatalf("%s: ETag %q Surrogate-Key %q Cache-Control %q", p.ID, etag, sk, resp.Header.Peek("Cache-Control"))
			}
			if !headers && (etag != "" || sk != "") {
				t.Fatalf("%s without headers: ETag %q Surrogate-Key %q", p.ID, etag, sk)
			}
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}
		if status, _, err := fasthttp.Get(nil, "http://"+b.Addr()+"/v1/products/p3"); err != nil || status != 404 {
			t.Fatalf("unknown product: %v %d", err, status)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
