package bench

import (
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// NewClient returns the load generator's client for addr: one HostClient
// with conns connections, no pipelining and no retries, so every failure is
// counted.
func NewClient(addr string, conns int, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		Name:                      "shopedge-bench",
		MaxConns:                  conns,
		MaxConnWaitTimeout:        timeout,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxResponseBodySize:       16 << 20,
		ReadBufferSize:            16 << 10,
	}
}

// HTTPOp returns an Op that fills a request with fill, sends it with c
// within timeout and classifies the answer with ErrorKind. fill sets the
// method, request URI (path and query) and body; the Host is c.Addr.
func HTTPOp(c *fasthttp.HostClient, timeout time.Duration, fill func(w *Worker, req *fasthttp.Request)) Op {
	return func(w *Worker) string {
		w.Req.Reset()
		fill(w, w.Req)
		w.Req.SetHost(c.Addr)
		err := c.DoTimeout(w.Req, w.Resp, timeout)
		w.Bytes += int64(len(w.Resp.Body()))
		return ErrorKind(err, w.Resp.StatusCode())
	}
}

// GetPaths returns an Op that GETs a path picked uniformly from paths (each
// a request URI: path and query).
func GetPaths(c *fasthttp.HostClient, timeout time.Duration, paths []string) Op {
	return HTTPOp(c, timeout, func(w *Worker, req *fasthttp.Request) {
		req.SetRequestURI(paths[w.Rand.IntN(len(paths))])
	})
}

// ReplayPaths returns an Op that GETs paths in order, shared by all
// workers, starting again from the first after the last.
func ReplayPaths(c *fasthttp.HostClient, timeout time.Duration, paths []string) Op {
	var next atomic.Uint64
	n := uint64(len(paths))
	return HTTPOp(c, timeout, func(_ *Worker, req *fasthttp.Request) {
		req.SetRequestURI(paths[(next.Add(1)-1)%n])
	})
}

// SeqPaths returns an Op that GETs paths in order, each once per pass (the
// workers share one position), to read a set of pages once.
func SeqPaths(c *fasthttp.HostClient, timeout time.Duration, paths []string) Op {
	var next atomic.Uint64
	return HTTPOp(c, timeout, func(w *Worker, req *fasthttp.Request) {
		req.SetRequestURI(paths[(next.Add(1)-1)%uint64(len(paths))])
	})
}

// ZipfPaths returns an Op that GETs paths[k] with k drawn from z (so
// paths[0] is the most requested); len(paths) must be z.N().
func ZipfPaths(c *fasthttp.HostClient, timeout time.Duration, paths []string, z *Zipf) Op {
	return HTTPOp(c, timeout, func(w *Worker, req *fasthttp.Request) {
		req.SetRequestURI(paths[z.Sample(w.Rand)])
	})
}
