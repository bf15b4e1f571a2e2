package search

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/internal/httpneg"
)

// maxCachedValue is fastcache's largest entry for Set/Get.
const maxCachedValue = 64 << 10

// HandleSearch serves GET|HEAD /v1/search. An answer is looked up in the
// hot answers (raw query string), then in the answer cache (generation +
// normalised, sorted parameters), and computed on a miss. Headers as the
// other cacheable reads: ETag (304 on If-None-Match), Cache-Control,
// Surrogate-Key (search, the selected categories and brands, the listed
// products), Vary: Accept-Encoding.
func (s *Service) HandleSearch(ctx *fasthttp.RequestCtx) {
	gen := s.gen.Load()
	raw := ctx.URI().QueryString()
	if s.hot != nil {
		if v, ok := s.hot.get(gen, raw); ok {
			s.hits.Inc()
			s.write(ctx, v, true)
			return
		}
	}
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	if err := s.parseArgs(ctx.QueryArgs(), st); err != nil {
		api.WriteError(ctx, err)
		return
	}
	_ = st.q.Normalize(st.args.p.Query) // valid: parseArgs checked it
	st.key = appendKey(st.key[:0], gen, &st.args, st.q.Text)
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
	p := st.args.params()
	x := s.idx.Load()
	x.mu.RLock()
	res := x.search(&p, st)
	x.mu.RUnlock()
	body, err := json.Marshal(res)
	if err != nil {
		api.WriteError(ctx, err)
		return
	}
	st.val = encodeValue(st.val[:0], surrogateKeys(&p, res), body)
	if s.cache != nil && len(st.val) <= maxCachedValue {
		s.cache.Set(st.key, st.val)
	}
	s.keepHot(gen, raw, st.val)
	s.write(ctx, st.val, false)
}

// HandleCategories serves GET|HEAD /v1/categories: the category tree
// (see Categories), rebuilt once per catalog change.
func (s *Service) HandleCategories(ctx *fasthttp.RequestCtx) {
	s.write(ctx, s.categories().val, true)
}

func (s *Service) keepHot(gen uint64, raw, val []byte) {
	if s.hot != nil {
		s.hot.put(gen, raw, val)
	}
}

// surrogateKeys names what an answer shows: "search", the selected
// categories and brands, and the listed products.
func surrogateKeys(p *api.SearchParams, res *api.SearchResult) string {
	var b strings.Builder
	b.WriteString("search")
	for _, c := range p.Categories {
		if k := api.KeyToken(c); k != "" {
			b.WriteString(" category-" + k)
		}
	}
	for _, c := range p.Brands {
		if k := api.KeyToken(c); k != "" {
			b.WriteString(" brand-" + k)
		}
	}
	for _, pr := range res.Products {
		if headerSafe(pr.ID) {
			b.WriteString(" " + api.ProductKey(pr.ID))
		}
	}
	return b.String()
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

// encodeValue appends a cache value to dst: a uvarint length and the
// Surrogate-Key header value, the quoted ETag (etagLen bytes), the body.
func encodeValue(dst []byte, keys string, body []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	dst = append(dst, keys...)
	dst = append(dst, '"')
	h := xxhash.Sum64(body)
	var hex [16]byte
	s := strconv.AppendUint(hex[:0], h, 16)
	for i := len(s); i < 16; i++ {
		dst = append(dst, '0')
	}
	dst = append(dst, s...)
	dst = append(dst, '"')
	return append(dst, body...)
}

const etagLen = 18

// Header names and values, as bytes fasthttp takes without normalising.
var (
	hCacheControl = []byte("Cache-Control")
	hVary         = []byte("Vary")
	hSurrogateKey = []byte("Surrogate-Key")
	hETag         = []byte("ETag")
	hIfNoneMatch  = []byte(fasthttp.HeaderIfNoneMatch)
	vVary         = []byte("Accept-Encoding")
	ctJSON        = []byte("application/json")
)

// write writes the cache value v. With shared, v is immutable (a hot
// answer or the category tree) and its body is sent without a copy; else
// it is copied.
func (s *Service) write(ctx *fasthttp.RequestCtx, v []byte, shared bool) {
	n, k := binary.Uvarint(v)
	keys := v[k : k+int(n)]
	etag := v[k+int(n) : k+int(n)+etagLen]
	body := v[k+int(n)+etagLen:]
	h := &ctx.Response.Header
	h.SetContentTypeBytes(ctJSON)
	h.SetCanonical(hCacheControl, s.cacheControl)
	h.SetCanonical(hVary, vVary)
	h.SetCanonical(hSurrogateKey, keys)
	h.SetCanonical(hETag, etag)
	if httpneg.ETagMatches(ctx.Request.Header.PeekCanonical(hIfNoneMatch), etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.ResetBody()
		return
	}
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
