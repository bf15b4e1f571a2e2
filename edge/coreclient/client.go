package coreclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/config"
)

// Client errors. Test them with errors.Is.
var (
	// ErrGone is returned by Client.Changes when the core answers 410: the
	// requested sequence is older than the change log's retention and the
	// caller must reload the snapshot.
	ErrGone = errors.New("api: change feed position is gone")
	// ErrNotFound is returned by Client.Product when the core answers 404.
	ErrNotFound = errors.New("api: not found")
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Addrs lists the core nodes as host:port; requests are balanced over them.
	Addrs []string `yaml:"-"` // from the edge's core.addrs
	// Token is the core's internal token, sent as a bearer token with
	// every request (from the edge's internal_token).
	Token string `yaml:"-"`
	// Timeout bounds a product fetch (connect, write, read).
	Timeout time.Duration `yaml:"timeout"`
	// SnapshotTimeout bounds a whole snapshot download.
	SnapshotTimeout time.Duration `yaml:"snapshot_timeout"`
	// MaxLineBytes bounds one NDJSON line (one product) of the snapshot.
	MaxLineBytes int `yaml:"max_line_bytes"`
	// MaxBodyBytes bounds a buffered (non-snapshot) response body.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// ChangesLimit is the most events asked for in one changes poll.
	ChangesLimit int `yaml:"changes_limit"`
	// MaxConnsPerAddr bounds the connections to each core node.
	MaxConnsPerAddr int `yaml:"max_conns_per_addr"`
	// DecodeWorkers is the number of goroutines decoding the snapshot
	// (0: one per CPU).
	DecodeWorkers int `yaml:"decode_workers"`
}

// DefaultClientConfig returns the defaults for a local run (core on
// 127.0.0.1:9090).
func DefaultClientConfig() ClientConfig {
	return ClientConfig{
		Addrs:           []string{"127.0.0.1:9090"},
		Timeout:         2 * time.Second,
		SnapshotTimeout: 10 * time.Minute,
		MaxLineBytes:    4 << 20,
		MaxBodyBytes:    64 << 20,
		ChangesLimit:    1000,
		MaxConnsPerAddr: 512,
	}
}

// Validate reports the first invalid field.
func (c ClientConfig) Validate() error {
	switch {
	case len(c.Addrs) == 0:
		return config.Invalid("addrs", "at least one core address is required")
	case c.Timeout <= 0:
		return config.Invalid("timeout", "must be > 0, got %s", c.Timeout)
	case c.SnapshotTimeout <= 0:
		return config.Invalid("snapshot_timeout", "must be > 0, got %s", c.SnapshotTimeout)
	case c.MaxLineBytes < 1024:
		return config.Invalid("max_line_bytes", "must be >= 1024, got %d", c.MaxLineBytes)
	case c.MaxBodyBytes < 1024:
		return config.Invalid("max_body_bytes", "must be >= 1024, got %d", c.MaxBodyBytes)
	case c.ChangesLimit <= 0:
		return config.Invalid("changes_limit", "must be > 0, got %d", c.ChangesLimit)
	case c.MaxConnsPerAddr <= 0:
		return config.Invalid("max_conns_per_addr", "must be > 0, got %d", c.MaxConnsPerAddr)
	case c.DecodeWorkers < 0:
		return config.Invalid("decode_workers", "must be >= 0, got %d", c.DecodeWorkers)
	}
	for i, a := range c.Addrs {
		if a == "" {
			return config.Invalid(fmt.Sprintf("addrs[%d]", i), "empty address")
		}
	}
	return nil
}

// Client talks to the core's internal feed over fasthttp, balancing over
// the configured core nodes. It is safe for concurrent use and holds only
// pooled connections; it needs no Close.
type Client struct {
	cfg ClientConfig
	lb  *fasthttp.LBClient
	// host is the Host header sent; every core node serves the same API.
	host string
	// auth is the Authorization header sent, or nil.
	auth []byte
	// checkoutMax is the longest checkout a core last announced
	// (HeaderCheckoutMax), in milliseconds.
	checkoutMax atomic.Int64
}

// NewClient returns a Client for cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create core client: %w", err)
	}
	lb := &fasthttp.LBClient{Timeout: cfg.Timeout}
	for _, addr := range cfg.Addrs {
		lb.Clients = append(lb.Clients, &fasthttp.HostClient{
			Addr:                addr,
			Name:                "shopedge-edge",
			MaxConns:            cfg.MaxConnsPerAddr,
			MaxResponseBodySize: cfg.MaxBodyBytes,
			MaxIdleConnDuration: 30 * time.Second,
			// Only GETs go through this client; they are safe to retry
			// on a fresh connection.
			MaxIdemponentCallAttempts: 2,
		})
	}
	c := &Client{cfg: cfg, lb: lb, host: cfg.Addrs[0]}
	if cfg.Token != "" {
		c.auth = []byte("Bearer " + cfg.Token)
	}
	return c, nil
}

// CheckoutMax returns the longest checkout a core last announced on a
// feed answer (see HeaderCheckoutMax), or 0 before any did.
func (c *Client) CheckoutMax() time.Duration {
	return time.Duration(c.checkoutMax.Load()) * time.Millisecond
}

// noteCheckoutMax records the core's announcement on resp, if any.
func (c *Client) noteCheckoutMax(resp *fasthttp.Response) {
	if v := resp.Header.Peek(api.HeaderCheckoutMax); len(v) > 0 {
		if ms, err := strconv.ParseInt(string(v), 10, 64); err == nil && ms > 0 {
			c.checkoutMax.Store(ms)
		}
	}
}

func (c *Client) deadline(ctx context.Context, d time.Duration) time.Time {
	dl := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		return cd
	}
	return dl
}

func (c *Client) newRequest(uri string) *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.SetRequestURI(uri)
	req.Header.SetHost(c.host)
	req.Header.SetMethod(fasthttp.MethodGet)
	if c.auth != nil {
		req.Header.SetBytesV(fasthttp.HeaderAuthorization, c.auth)
	}
	return req
}

// do runs req and returns once it completes or ctx is done. When ctx ends
// first, the request keeps running in the background until its deadline and
// its buffers are released then, so Stop never waits for a long poll.
func (c *Client) do(ctx context.Context, req *fasthttp.Request, deadline time.Time, fn func(resp *fasthttp.Response) error) error {
	if err := ctx.Err(); err != nil {
		fasthttp.ReleaseRequest(req)
		return err
	}
	done := make(chan error, 1)
	go func() {
		resp := fasthttp.AcquireResponse()
		err := c.lb.DoDeadline(req, resp, deadline)
		if err == nil && ctx.Err() == nil {
			err = fn(resp)
		} else if err == nil {
			err = ctx.Err()
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Product fetches product id with availability from the core. It returns
// an error wrapping ErrNotFound when the core does not know id.
func (c *Client) Product(ctx context.Context, id string) (*api.Product, error) {
	req := c.newRequest("/internal/v1/products/" + id)
	var p *api.Product
	err := c.do(ctx, req, c.deadline(ctx, c.cfg.Timeout), func(resp *fasthttp.Response) error {
		switch sc := resp.StatusCode(); sc {
		case fasthttp.StatusOK:
		case fasthttp.StatusNotFound:
			return ErrNotFound
		default:
			return statusError(sc, resp.Body())
		}
		p = new(api.Product)
		if err := json.Unmarshal(resp.Body(), p); err != nil {
			return fmt.Errorf("cannot decode product: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot fetch product %q from core: %w", id, err)
	}
	return p, nil
}

// Changes long-polls the change feed for events after seq, waiting up to
// wait when there are none. It returns an error wrapping ErrGone when after
// is older than the core's retention.
func (c *Client) Changes(ctx context.Context, after uint64, wait time.Duration) (*api.Changes, error) {
	uri := "/internal/v1/changes?after=" + strconv.FormatUint(after, 10) +
		"&limit=" + strconv.Itoa(c.cfg.ChangesLimit) +
		"&wait=" + strconv.FormatInt(wait.Milliseconds(), 10) + "ms"
	req := c.newRequest(uri)
	var ch *api.Changes
	err := c.do(ctx, req, c.deadline(ctx, wait+c.cfg.Timeout), func(resp *fasthttp.Response) error {
		c.noteCheckoutMax(resp)
		switch sc := resp.StatusCode(); sc {
		case fasthttp.StatusOK:
		case fasthttp.StatusGone:
			return ErrGone
		default:
			return statusError(sc, resp.Body())
		}
		ch = new(api.Changes)
		if err := json.Unmarshal(resp.Body(), ch); err != nil {
			return fmt.Errorf("cannot decode changes: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot poll changes after %d: %w", after, err)
	}
	return ch, nil
}

// Snapshot downloads the whole catalog, calling fn once per product in body
// order with the product and its NDJSON line, and returns the sequence the
// snapshot is consistent with. The body is decoded as it streams in, on
// DecodeWorkers goroutines (0: one per CPU), a few hundred lines at a
// time; fn runs on the calling goroutine. p and line are valid only until
// fn returns: both are reused for later lines. An error from fn stops the
// download and is returned; cancelling ctx stops it at the next batch.
func (c *Client) Snapshot(ctx context.Context, fn func(p *api.Product, line []byte) error) (uint64, error) {
	return c.snapshot(ctx, false, fn)
}

// SnapshotSummaries is Snapshot with each product decoded without its
// description and attributes (the product's and its SKUs'): what a
// consumer that keeps the NDJSON line as the product's bytes needs. The
// line is unchanged. It decodes a million products in a fraction of the
// time: the attribute maps were most of the decoding.
func (c *Client) SnapshotSummaries(ctx context.Context, fn func(p *api.Product, line []byte) error) (uint64, error) {
	return c.snapshot(ctx, true, fn)
}

func (c *Client) snapshot(ctx context.Context, summaries bool, fn func(p *api.Product, line []byte) error) (uint64, error) {
	req := c.newRequest("/internal/v1/snapshot")
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	resp.StreamBody = true
	if err := c.lb.DoDeadline(req, resp, c.deadline(ctx, c.cfg.SnapshotTimeout)); err != nil {
		return 0, fmt.Errorf("cannot load snapshot: %w", err)
	}
	defer resp.CloseBodyStream() //nolint:errcheck // the body is abandoned on error paths
	c.noteCheckoutMax(resp)
	if sc := resp.StatusCode(); sc != fasthttp.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(bodyReader(resp), 4096))
		return 0, fmt.Errorf("cannot load snapshot: %w", statusError(sc, body))
	}
	seq, err := strconv.ParseUint(string(resp.Header.Peek(api.SeqHeader)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot load snapshot: bad %s header %q", api.SeqHeader, resp.Header.Peek(api.SeqHeader))
	}
	workers := c.cfg.DecodeWorkers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := decodeLines(ctx, bodyReader(resp), c.cfg.MaxLineBytes, workers, summaries, fn); err != nil {
		return 0, err
	}
	return seq, nil
}

// lineBatch is a run of consecutive NDJSON lines and their decoded
// products. Batches are recycled: their buffers are reused.
type lineBatch struct {
	buf   []byte
	ends  []int // line k is buf[ends[k-1]:ends[k]]
	first int   // line number of the first line (1-based)
	prods []api.Product
	// summaries decodes without descriptions and attributes, with sum
	// and into skus (the products' SKUs point into skus).
	summaries bool
	sum       summaryDecoder
	skus      []api.SKU
	skuEnds   []int // product k's SKUs end at skus[skuEnds[k]]
	// n lines decoded; err ends the stream after them (a malformed line,
	// or the read error that cut the batch).
	n    int
	err  error
	done chan struct{} // closed once decoded
}

func (b *lineBatch) line(k int) []byte {
	start := 0
	if k > 0 {
		start = b.ends[k-1]
	}
	return b.buf[start:b.ends[k]:b.ends[k]]
}

// Batches are cut at batchLines lines or batchBytes bytes.
const (
	batchLines = 256
	batchBytes = 256 << 10
)

// decodeLines reads NDJSON from r, decodes the lines on workers goroutines
// and calls fn for each in order on the calling goroutine. At most
// 2*workers+2 batches exist, so memory stays bounded however fast the body
// arrives.
func decodeLines(ctx context.Context, r io.Reader, maxLine, workers int, summaries bool, fn func(p *api.Product, line []byte) error) error {
	nb := 2*workers + 2
	free := make(chan *lineBatch, nb)
	for i := 0; i < nb; i++ {
		free <- &lineBatch{summaries: summaries}
	}
	work := make(chan *lineBatch, nb) // never full: there are nb batches
	order := make(chan *lineBatch, nb)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				b.decode()
			}
		}()
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(work)
		defer close(order)
		readBatches(r, maxLine, free, work, order, quit)
	}()
	err := consumeBatches(ctx, order, free, fn)
	close(quit)
	for range order { // unblock the reader
	}
	<-readDone
	wg.Wait()
	return err
}

// readBatches cuts the body into batches, handing each to the decoders
// (work) and, in body order, to the consumer (order). A read error rides
// on the last batch. It returns at the end of the body or once quit is
// closed.
func readBatches(r io.Reader, maxLine int, free <-chan *lineBatch, work, order chan<- *lineBatch, quit <-chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, min(64<<10, maxLine)), maxLine)
	n := 0
	for {
		var b *lineBatch
		select {
		case b = <-free:
		case <-quit:
			return
		}
		b.buf, b.ends, b.first, b.n, b.err, b.done = b.buf[:0], b.ends[:0], n+1, 0, nil, make(chan struct{})
		more := true
		for len(b.ends) < batchLines && len(b.buf) < batchBytes {
			if !sc.Scan() {
				more = false
				if err := sc.Err(); err != nil {
					b.err = fmt.Errorf("cannot read snapshot after line %d: %w", n, err)
				}
				break
			}
			n++
			b.buf = append(b.buf, sc.Bytes()...)
			b.ends = append(b.ends, len(b.buf))
		}
		select {
		case order <- b:
		case <-quit:
			return
		}
		work <- b
		if !more {
			return
		}
	}
}

// decode decodes the lines of b into b.prods, stopping at the first
// malformed one.
func (b *lineBatch) decode() {
	defer close(b.done)
	if cap(b.prods) < len(b.ends) {
		b.prods = make([]api.Product, len(b.ends), max(len(b.ends), batchLines))
	}
	b.prods = b.prods[:len(b.ends)]
	if b.summaries {
		b.decodeSummaries()
		return
	}
	for k := range b.ends {
		b.prods[k] = api.Product{}
		if line := b.line(k); len(line) > 0 {
			if err := json.Unmarshal(line, &b.prods[k]); err != nil {
				b.n, b.err = k, fmt.Errorf("cannot decode snapshot line %d: %w", b.first+k, err)
				return
			}
		}
	}
	b.n = len(b.ends)
}

// consumeBatches calls fn for the products of each batch in order and
// recycles the batch.
func consumeBatches(ctx context.Context, order <-chan *lineBatch, free chan<- *lineBatch, fn func(p *api.Product, line []byte) error) error {
	for b := range order {
		<-b.done
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cannot load snapshot: %w", err)
		}
		for k := 0; k < b.n; k++ {
			if line := b.line(k); len(line) > 0 {
				if err := fn(&b.prods[k], line); err != nil {
					return err
				}
			}
		}
		if b.err != nil {
			return b.err
		}
		free <- b
	}
	return nil
}

// bodyReader returns the streamed body, or the buffered one when fasthttp
// read it whole (small bodies with a Content-Length).
func bodyReader(resp *fasthttp.Response) io.Reader {
	if r := resp.BodyStream(); r != nil {
		return r
	}
	return bytes.NewReader(resp.Body())
}

// statusError turns an unexpected status into an error carrying the core's
// error message when the body is shopedge's JSON error.
func statusError(status int, body []byte) error {
	if status == fasthttp.StatusUnauthorized {
		return fmt.Errorf("core answered 401: it refuses this edge's internal_token (SHOPEDGE_INTERNAL_TOKEN must be the core's)")
	}
	var eb api.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
		return fmt.Errorf("core answered %d: %w", status, eb.Error)
	}
	return fmt.Errorf("core answered %d", status)
}
