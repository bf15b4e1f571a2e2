package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// measureBaseline runs o against an in-process Baseline server with the
// same client settings a scenario uses, and sets r.Baseline.
func measureBaseline(ctx context.Context, r *Report, o Options, log io.Writer) error {
	b, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer b.Close()
	c := NewClient(b.Addr(), o.Concurrency, o.Timeout)
	fmt.Fprintf(log, "baseline: bare fasthttp on %s, %s\n", b.Addr(), describe(o))
	s, err := Run(ctx, o, GetPaths(c, o.Timeout, []string{"/"}))
	if err != nil {
		return fmt.Errorf("cannot measure baseline: %w", err)
	}
	r.Baseline = s
	return nil
}

func describe(o Options) string {
	if o.Rate > 0 {
		return fmt.Sprintf("open loop %.0f req/s, %d workers, %s", o.Rate, o.Concurrency, o.Duration)
	}
	if o.MaxRequests > 0 {
		return fmt.Sprintf("closed loop %d workers, %d requests (≤ %s)", o.Concurrency, o.MaxRequests, o.Duration)
	}
	return fmt.Sprintf("closed loop %d workers, %s", o.Concurrency, o.Duration)
}

// probe sends one request and checks its status, so a scenario fails with
// a clear message when a route is missing instead of measuring 404s.
func probe(c *fasthttp.HostClient, tier, method, uri string, body []byte, hdr map[string]string, want ...int) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.SetHost(c.Addr)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(body)
	}
	if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
		return nil, fmt.Errorf("cannot %s %s on the %s: %w", method, uri, tier, err)
	}
	for _, w := range want {
		if resp.StatusCode() == w {
			return append([]byte(nil), resp.Body()...), nil
		}
	}
	return nil, RouteError(tier, method, uri, resp.StatusCode(), resp.Body())
}

// mb converts bytes to MiB.
func mb(b int64) float64 { return float64(b) / (1 << 20) }
