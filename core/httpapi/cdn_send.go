package httpapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"shopedge/core/api"
)

// maxXkeyBytes bounds the xkey header of one PURGE request, well within
// Varnish's default http_req_hdr_len (8 KiB); more keys take more requests.
const maxXkeyBytes = 4000

// purge is one set of invalidations for a cache: every object, or those
// tagged with any of keys.
type purge struct {
	all  bool
	keys []string            // unique, in the order first seen
	seen map[string]struct{} // dedupe set over keys
}

// addKey adds one surrogate key.
func (p *purge) addKey(k string) {
	if p.all {
		return
	}
	if p.seen == nil {
		p.seen = make(map[string]struct{})
	}
	if _, ok := p.seen[k]; ok {
		return
	}
	p.seen[k] = struct{}{}
	p.keys = append(p.keys, k)
}

// setAll makes p a purge of everything, which supersedes every key.
func (p *purge) setAll() {
	p.all, p.keys, p.seen = true, nil, nil
}

// addEvent adds what change-log event ev invalidates: a product write or
// delete invalidates its product key (its JSON, its HTML page, and every
// cached answer listing it, such as suggestions); a purge its keys, as
// cdnKey maps them; a purge_all everything.
func (p *purge) addEvent(ev *api.Event) {
	switch ev.Type {
	case api.EventPurgeAll:
		p.setAll()
	case api.EventPurge:
		for _, k := range ev.Keys {
			p.addKey(cdnKey(k))
		}
	case api.EventUpsert, api.EventDelete:
		id := ev.ID
		if id == "" && ev.Product != nil {
			id = ev.Product.ID
		}
		if id != "" {
			p.addKey(api.ProductKey(id))
		}
	}
}

// merge adds q's invalidations to p.
func (p *purge) merge(q *purge) {
	if q.all {
		p.setAll()
		return
	}
	for _, k := range q.keys {
		p.addKey(k)
	}
}

func (p *purge) empty() bool { return !p.all && len(p.keys) == 0 }

// chunks returns the xkey header values of p, each at most maxXkeyBytes
// (a longer single key gets a request of its own).
func (p *purge) chunks() []string {
	var out []string
	var b strings.Builder
	for _, k := range p.keys {
		if b.Len() > 0 && b.Len()+1+len(k) > maxXkeyBytes {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// sender sends PURGE requests over one HTTP client, from cfg.SourceAddr
// when it is set.
type sender struct {
	client  *http.Client
	timeout time.Duration
}

func newSender(cfg CDNConfig) (*sender, error) {
	d := &net.Dialer{Timeout: cfg.Timeout}
	if cfg.SourceAddr != "" {
		ip := net.ParseIP(cfg.SourceAddr)
		if ip == nil {
			return nil, fmt.Errorf("httpapi: cdn.source_addr: %q is not an IP address", cfg.SourceAddr)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		DisableCompression:    true,
	}
	return &sender{client: &http.Client{Transport: tr}, timeout: cfg.Timeout}, nil
}

func (s *sender) close() { s.client.CloseIdleConnections() }

// do sends p to url: one PURGE per chunk of keys, or one purge-all. It
// returns the number of requests the cache acknowledged (2xx) and the
// first failure; p is done only when err is nil.
func (s *sender) do(ctx context.Context, url string, p *purge) (acked int, err error) {
	if p.all {
		if err := s.one(ctx, url, "X-Shopedge-Purge-All", "1"); err != nil {
			return 0, err
		}
		return 1, nil
	}
	for _, c := range p.chunks() {
		if err := s.one(ctx, url, "xkey", c); err != nil {
			return acked, err
		}
		acked++
	}
	return acked, nil
}

func (s *sender) one(ctx context.Context, url, header, value string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "PURGE", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set(header, value)
	req.Header.Set("User-Agent", "shopedge-core")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("PURGE answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// cdnKey maps a purge key to the surrogate key caches know: surrogate keys
// (product-…, category-…, brand-…, and "suggest", which tags every
// autocomplete answer) pass through, anything else is taken as a product id.
func cdnKey(k string) string {
	if k == "suggest" {
		return k
	}
	for _, p := range []string{"product-", "category-", "brand-"} {
		if strings.HasPrefix(k, p) {
			return k
		}
	}
	return api.ProductKey(k)
}
