// Package fakecore is an in-process stand-in for the core's internal feed
// (snapshot, changes long-poll, product fetch) for the edge's tests. It
// serves the same wire contract on 127.0.0.1 and can be stopped and
// restarted on the same address to simulate an outage.
package fakecore

import (
	"bufio"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// Core is a fake core. Its methods are safe for concurrent use.
type Core struct {
	mu       sync.Mutex
	products map[string]*api.Product
	events   []api.Event
	seq      uint64
	logStart uint64 // changes?after=N with N < logStart answer 410
	notify   chan struct{}
	stop     chan struct{}
	srv      *fasthttp.Server
	addr     string

	// ProductDelay delays every product fetch (set before use).
	ProductDelay time.Duration
	// Observe, when set before Start, sees every request first.
	Observe func(ctx *fasthttp.RequestCtx)
	// Other, when set before Start, answers every request that is not
	// the feed's (else 404).
	Other fasthttp.RequestHandler

	snapshots, changes, fetches atomic.Int64
}

// New returns a stopped fake core with an empty catalog.
func New() *Core {
	return &Core{products: make(map[string]*api.Product), notify: make(chan struct{})}
}

// Start serves on 127.0.0.1:0 the first time and on the same address after
// a Stop.
func (c *Core) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	addr := c.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old port may linger for a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	c.addr = ln.Addr().String()
	c.stop = make(chan struct{})
	c.srv = &fasthttp.Server{Handler: c.handle, ReadTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second}
	go c.srv.Serve(ln) //nolint:errcheck
	return nil
}

// Stop ends long polls and closes the listener and every connection.
func (c *Core) Stop() {
	c.mu.Lock()
	srv, stop := c.srv, c.stop
	c.srv = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	close(stop)
	_ = srv.Shutdown()
}

// Addr returns host:port once started.
func (c *Core) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Calls returns how many requests hit route: "snapshot", "changes" or "product".
func (c *Core) Calls(route string) int64 {
	switch route {
	case "snapshot":
		return c.snapshots.Load()
	case "changes":
		return c.changes.Load()
	case "product":
		return c.fetches.Load()
	}
	return 0
}

// Seq returns the last assigned sequence.
func (c *Core) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

func (c *Core) appendEvent(ev api.Event) uint64 {
	c.seq++
	ev.Seq = c.seq
	c.events = append(c.events, ev)
	close(c.notify)
	c.notify = make(chan struct{})
	return c.seq
}

// Upsert stores p and logs an upsert event; it returns the event's seq.
func (c *Core) Upsert(p *api.Product) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *p
	c.products[p.ID] = &cp
	return c.appendEvent(api.Event{Type: api.EventUpsert, ID: p.ID, Product: &cp})
}

// Set stores p without logging an event: a product the edges have not
// heard of yet (as when their feed lags).
func (c *Core) Set(p *api.Product) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *p
	c.products[p.ID] = &cp
}

// Delete removes product id and logs a delete event.
func (c *Core) Delete(id string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.products, id)
	return c.appendEvent(api.Event{Type: api.EventDelete, ID: id})
}

// Purge logs a purge event for keys.
func (c *Core) Purge(keys ...string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.appendEvent(api.Event{Type: api.EventPurge, Keys: keys})
}

// PurgeAll logs a purge_all event.
func (c *Core) PurgeAll() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.appendEvent(api.Event{Type: api.EventPurgeAll})
}

// Truncate drops the whole log: any edge behind the current seq gets 410.
func (c *Core) Truncate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = nil
	c.logStart = c.seq
}

func (c *Core) handle(ctx *fasthttp.RequestCtx) {
	if c.Observe != nil {
		c.Observe(ctx)
	}
	path := string(ctx.Path())
	switch {
	case path == "/internal/v1/snapshot":
		c.snapshots.Add(1)
		c.snapshot(ctx)
	case path == "/internal/v1/changes":
		c.changes.Add(1)
		c.changesPoll(ctx)
	case strings.HasPrefix(path, "/internal/v1/products/"):
		c.fetches.Add(1)
		if c.ProductDelay > 0 {
			time.Sleep(c.ProductDelay)
		}
		c.mu.Lock()
		p := c.products[strings.TrimPrefix(path, "/internal/v1/products/")]
		var b []byte
		if p != nil {
			b, _ = json.Marshal(p)
		}
		c.mu.Unlock()
		if p == nil {
			api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no such product"))
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	case c.Other != nil:
		c.Other(ctx)
	default:
		api.WriteError(ctx, api.Errorf(api.ECodeNotFound, "no route"))
	}
}

func (c *Core) snapshot(ctx *fasthttp.RequestCtx) {
	c.mu.Lock()
	ids := make([]string, 0, len(c.products))
	for id := range c.products {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	lines := make([][]byte, 0, len(ids))
	for _, id := range ids {
		b, _ := json.Marshal(c.products[id])
		lines = append(lines, b)
	}
	seq := c.seq
	c.mu.Unlock()
	ctx.Response.Header.Set(api.SeqHeader, strconv.FormatUint(seq, 10))
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		for _, l := range lines {
			_, _ = w.Write(l)
			_ = w.WriteByte('\n')
		}
	})
}

func (c *Core) changesPoll(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	after, err := strconv.ParseUint(string(args.Peek("after")), 10, 64)
	if err != nil {
		api.WriteError(ctx, api.Invalid("after", "not a number"))
		return
	}
	limit, _ := strconv.Atoi(string(args.Peek("limit")))
	if limit <= 0 {
		limit = 1000
	}
	wait, _ := time.ParseDuration(string(args.Peek("wait")))
	deadline := time.Now().Add(wait)
	for {
		c.mu.Lock()
		if after < c.logStart {
			c.mu.Unlock()
			api.WriteError(ctx, api.Errorf(api.ECodeGone, "after=%d is older than the log", after))
			return
		}
		var out []api.Event
		for _, ev := range c.events {
			if ev.Seq > after && len(out) < limit {
				out = append(out, ev)
			}
		}
		last := c.seq
		if len(out) == limit {
			last = out[len(out)-1].Seq
		}
		notify, stop := c.notify, c.stop
		c.mu.Unlock()
		left := time.Until(deadline)
		if len(out) > 0 || left <= 0 {
			b, _ := json.Marshal(api.Changes{Events: append([]api.Event{}, out...), Last: last})
			ctx.SetContentType("application/json")
			ctx.SetBody(b)
			return
		}
		t := time.NewTimer(left)
		select {
		case <-notify:
		case <-t.C:
		case <-stop:
			t.Stop()
			ctx.SetConnectionClose()
			api.WriteError(ctx, api.Errorf(api.ECodeUnavailable, "shutting down"))
			return
		}
		t.Stop()
	}
}
