package suggest

import (
	"encoding/binary"
	"strings"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// maxCachedValue is fastcache's largest entry for Set/Get.
const maxCachedValue = 64 << 10

// Handle serves GET /v1/suggest?q=…&limit=…. A cached answer is written
// without allocating; otherwise the index is walked, the answer encoded
// and cached under (generation, limit, normalised query), so equivalent
// spellings of a query share one entry.
func (s *Service) Handle(ctx *fasthttp.RequestCtx) {
	gen := s.gen.Load()
	raw := ctx.URI().QueryString()
	if s.hot != nil {
		if v, ok := s.hot.get(gen, raw); ok {
			s.hits.Inc()
			s.write(ctx, v, true)
			return
		}
	}
	args := ctx.QueryArgs()
	limit := s.cfg.DefaultLimit
	if lb := args.Peek("limit"); lb != nil {
		v, err := fasthttp.ParseUint(lb)
		if err != nil || v < 1 || v > s.cfg.MaxLimit {
			s.bad.Inc()
			api.WriteError(ctx, api.Invalid("limit", "must be a number from 1 to %d", s.cfg.MaxLimit))
			return
		}
		limit = v
	}
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	if err := st.q.ParseQuery(b2s(args.Peek("q")), s.cfg.MaxQueryBytes, s.cfg.MaxQueryWords); err != nil {
		s.bad.Inc()
		api.WriteError(ctx, api.Invalid("q", "%v (at most %d bytes and %d words of UTF-8)", err, s.cfg.MaxQueryBytes, s.cfg.MaxQueryWords))
		return
	}
	st.key = binary.LittleEndian.AppendUint64(st.key[:0], gen)
	st.key = append(st.key, byte(limit))
	st.key = append(st.key, st.q.Text...)
	if s.cache != nil {
		st.val = s.cache.Get(st.val[:0], st.key)
		if len(st.val) > 0 {
			s.hits.Inc()
			s.keepHot(gen, raw, st.val)
			s.write(ctx, st.val, false)
			return
		}
	}
	s.misses.Inc()
	st.val = s.encode(st, limit, st.val[:0])
	if s.cache != nil && len(st.val) <= maxCachedValue {
		s.cache.Set(st.key, st.val)
	}
	s.keepHot(gen, raw, st.val)
	s.write(ctx, st.val, false)
}

// keepHot offers the answer val to raw, read or computed at generation
// gen, to the hot answers.
func (s *Service) keepHot(gen uint64, raw, val []byte) {
	if s.hot != nil {
		s.hot.put(gen, raw, val)
	}
}

// Header names and values of every answer, as bytes fasthttp takes
// without normalising them.
var (
	hCacheControl = []byte("Cache-Control")
	hVary         = []byte("Vary")
	hSurrogateKey = []byte("Surrogate-Key")
	vVary         = []byte("Accept-Encoding")
	ctJSON        = []byte("application/json")
)

// encode renders the answer as a cache value: a uvarint length, the
// Surrogate-Key header value, then the JSON body.
func (s *Service) encode(st *state, limit int, dst []byte) []byte {
	a := s.answer(st, limit)
	body, err := json.Marshal(a)
	if err != nil {
		body = []byte(`{"query":"","products":[],"categories":[]}`)
	}
	var keys strings.Builder
	keys.WriteString("suggest")
	for _, p := range a.Products {
		if headerSafe(p.ID) {
			keys.WriteByte(' ')
			keys.WriteString(api.ProductKey(p.ID))
		}
	}
	dst = binary.AppendUvarint(dst, uint64(keys.Len()))
	dst = append(dst, keys.String()...)
	return append(dst, body...)
}

// write writes the cache value v. With shared, v is immutable (a hot
// answer) and its body is sent without a copy; else it is copied (v goes
// back to the pool).
func (s *Service) write(ctx *fasthttp.RequestCtx, v []byte, shared bool) {
	n, k := binary.Uvarint(v)
	keys, body := v[k:k+int(n)], v[k+int(n):]
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ctJSON)
	h.SetCanonical(hCacheControl, s.cacheControl)
	h.SetCanonical(hVary, vVary)
	h.SetCanonical(hSurrogateKey, keys)
	ctx.SetStatusCode(fasthttp.StatusOK)
	if shared {
		ctx.Response.SetBodyRaw(body)
	} else {
		ctx.SetBody(body)
	}

	if ctx.IsHead() {
		ctx.Response.SkipBody = true
	}
}

// headerSafe reports whether id can go into a space-separated header.
func headerSafe(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return id != ""
}
