package httpserver

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// A dispatched request is served by the dispatch's handler and counted
// under the route it names, a panic in it is recovered like any other, and
// what the dispatch leaves goes to the router and its route.
func TestDispatchServesAndLabels(t *testing.T) {
	ms := metrics.NewSet()
	r := NewRouter()
	r.GET("/routed/{id}", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("routed") })
	s := New(testConfig(), zerolog.Nop(), ms, r.Handler)
	fast := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("fast") }
	boom := func(ctx *fasthttp.RequestCtx) { panic("boom") }
	s.SetDispatch(func(ctx *fasthttp.RequestCtx) (fasthttp.RequestHandler, string) {
		switch string(ctx.Path()) {
		case "/fast/1", "/fast/2":
			return fast, "/fast/{id}"
		case "/boom":
			return boom, "/boom"
		}
		return nil, ""
	})
	h := s.Handler()
	do := func(path string) *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, nil, nil)
		ctx.Request.SetRequestURI(path)
		h(&ctx)
		return &ctx
	}
	for path, want := range map[string]string{"/fast/1": "fast", "/fast/2": "fast", "/routed/1": "routed"} {
		if ctx := do(path); ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != want {
			t.Fatalf("GET %s = %d %q, want 200 %q", path, ctx.Response.StatusCode(), ctx.Response.Body(), want)
		}
	}
	if ctx := do("/boom"); ctx.Response.StatusCode() != 500 {
		t.Fatalf("a panicking dispatched handler answered %d, want 500", ctx.Response.StatusCode())
	}
	var out strings.Builder
	ms.WritePrometheus(&out)
	for _, want := range []string{
		`shopedge_http_requests_total{server="t",route="/fast/{id}",code="2xx"} 2`,
		`shopedge_http_requests_total{server="t",route="/routed/{id}",code="2xx"} 1`,
		`shopedge_http_requests_total{server="t",route="/boom",code="5xx"} 1`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("metrics lack %s:\n%s", want, out.String())
		}
	}
}

// A route's stats are the same whether its pattern is found by the address
// of its bytes or by name, for any number of patterns, and the patterns
// found by address stay bounded.
func TestRouteStatsByAddressAndName(t *testing.T) {
	set := newRouteStatsSet(metrics.NewSet(), "t")
	var ctx fasthttp.RequestCtx
	first := map[string]*routeStats{}
	for i := range 3 * maxRecent {
		p := fmt.Sprintf("/r%d/{id}", i)
		first[p] = set.get(&ctx, p)
	}
	for range 2 {
		for p, rs := range first {
			if got := set.get(&ctx, p); got != rs {
				t.Fatalf("route %s: same string, other stats", p)
			}
			if got := set.get(&ctx, strings.Clone(p)); got != rs {
				t.Fatalf("route %s: equal string at another address, other stats", p)
			}
		}
	}
	if n := len(*set.recent.Load()); n > maxRecent {
		t.Fatalf("%d patterns kept by address, want at most %d", n, maxRecent)
	}
	ctx.SetUserValue(router.MatchedRoutePathParam, "/r0/{id}")
	if got := set.get(&ctx, ""); got != first["/r0/{id}"] {
		t.Fatal("the router's matched path found other stats")
	}
	ctx.ResetUserValues()
	if got := set.get(&ctx, ""); got != set.unmatched {
		t.Fatal("no route named and none matched: not counted as unmatched")
	}
}

// The route stats write what metrics.Counter and PrometheusHistogram wrote
// for the same requests, line for line, and count requests from many
// goroutines exactly.
func TestRouteStatsExposition(t *testing.T) {
	if len(durationBounds)+1 != numBuckets {
		t.Fatalf("%d bounds for %d buckets", len(durationBounds), numBuckets)
	}
	ref, ms := metrics.NewSet(), metrics.NewSet()
	var ctx fasthttp.RequestCtx
	rs := newRouteStatsSet(ms, "t").get(&ctx, "/items/{id}")
	labels := `server="t",route="/items/{id}"`
	h := ref.NewPrometheusHistogram(`shopedge_http_request_duration_seconds{` + labels + `}`)
	byClass := map[int]*metrics.Counter{}
	for i, c := range classNames {
		byClass[i] = ref.NewCounter(fmt.Sprintf(`shopedge_http_requests_total{%s,code=%q}`, labels, c))
	}
	durations := []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 5*time.Millisecond + 1,
		70 * time.Millisecond, 900 * time.Millisecond, 3 * time.Second, 11 * time.Second}
	statuses := []int{200, 304, 404, 503, 101, 0, 200, 200}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				for i, d := range durations {
					rs.observe(statuses[i], d)
				}
			}
		}()
	}
	wg.Wait()
	for range 1000 {
		for i, d := range durations {
			h.Update(d.Seconds())
			byClass[statusClass(statuses[i])].Inc()
		}
	}
	lines := func(s *metrics.Set, family string) []string {
		var b strings.Builder
		s.WritePrometheus(&b)
		var out []string
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(l, family) && strings.Contains(l, `route="/items/{id}"`) {
				out = append(out, l)
			}
		}
		sort.Strings(out)
		return out
	}
	for _, family := range []string{"shopedge_http_requests_total", "shopedge_http_request_duration_seconds_bucket",
		"shopedge_http_request_duration_seconds_count"} {
		got, want := lines(ms, family), lines(ref, family)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) == 0 {
			t.Fatalf("%s:\ngot\n%s\nwant\n%s", family, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// The sums agree to float rounding: the reference adds seconds as floats.
	sum := func(s *metrics.Set) float64 {
		l := lines(s, "shopedge_http_request_duration_seconds_sum")
		if len(l) != 1 {
			t.Fatalf("sum lines: %q", l)
		}
		f, err := strconv.ParseFloat(l[0][strings.LastIndexByte(l[0], ' ')+1:], 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if got, want := sum(ms), sum(ref); math.Abs(got-want) > 1e-9*want {
		t.Fatalf("duration sum %v, want %v", got, want)
	}
}
