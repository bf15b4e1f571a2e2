package httpapi

import (
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// purgeJob is one queued CDN purge.
type purgeJob struct {
	keys []string
	all  bool
}

// purger sends PURGE requests to the configured caches from one background
// goroutine, off the admin request path. The queue is bounded: when full,
// new purges are dropped and logged (the caches' TTLs still bound
// staleness).
type purger struct {
	cfg    CDNConfig
	logger zerolog.Logger
	client *fasthttp.Client
	q      chan purgeJob
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newPurger(cfg CDNConfig, logger zerolog.Logger) *purger {
	p := &purger{
		cfg:    cfg,
		logger: logger,
		client: &fasthttp.Client{
			Name:                      "shopedge-core",
			ReadTimeout:               cfg.Timeout,
			WriteTimeout:              cfg.Timeout,
			MaxIdemponentCallAttempts: 1,
		},
		q:    make(chan purgeJob, cfg.Queue),
		stop: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.run()
	return p
}

// enqueue queues a purge without blocking; keys is copied.
func (p *purger) enqueue(keys []string, all bool) {
	job := purgeJob{keys: append([]string(nil), keys...), all: all}
	select {
	case p.q <- job:
	default:
		p.logger.Warn().Int("keys", len(keys)).Bool("all", all).Msg("CDN purge queue full; purge dropped")
	}
}

func (p *purger) close() {
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *purger) run() {
	defer p.wg.Done()
	for {
		select {
		case <-p.stop:
			return
		case job := <-p.q:
			for _, u := range p.cfg.PurgeURLs {
				p.send(u, job)
			}
		}
	}
}

// send issues one PURGE. Keys go in the xkey header, space-separated, as
// the Varnish xkey vmod expects; purge_all is sent as
// "X-Shopedge-Purge-All: 1", which the VCL turns into a ban of everything.
func (p *purger) send(url string, job purgeJob) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod("PURGE")
	if job.all {
		req.Header.Set("X-Shopedge-Purge-All", "1")
	} else {
		req.Header.Set("xkey", strings.Join(job.keys, " "))
	}
	err := p.client.DoTimeout(req, resp, p.cfg.Timeout)
	switch {
	case err != nil:
		p.logger.Warn().Err(err).Str("url", url).Int("keys", len(job.keys)).Msg("CDN purge failed")
	case resp.StatusCode() >= 300:
		p.logger.Warn().Int("status", resp.StatusCode()).Str("url", url).Int("keys", len(job.keys)).Msg("CDN purge refused")
	}
}
