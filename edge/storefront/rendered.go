package storefront

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"

	"shopedge/edge/storefront/theme"
)

// rendered is one precomputed page: plain and gzip bytes with their
// strong ETags and the Surrogate-Key header. Immutable once made, so
// requests share it without locks or copies.
type rendered struct {
	body, gz     []byte
	etag, gzETag []byte
	surrogateKey []byte   // the Surrogate-Key header value
	keys         []string // the same keys, for purges
}

// newRendered compresses body at level and tags it with keys (surrogate
// keys, space-separated in the header, cut at maxSurrogateKey bytes).
func newRendered(body []byte, keys []string, level int) *rendered {
	r := &rendered{body: body, etag: theme.ETag(body), keys: keys}
	r.gz = fasthttp.AppendGzipBytesLevel(nil, body, level)
	r.gzETag = theme.ETag(r.gz)
	r.surrogateKey = []byte(joinKeys(keys))
	return r
}

// sameBody reports whether r holds exactly body (a re-render that changed
// nothing keeps the old bytes and skips compression).
func (r *rendered) sameBody(body []byte) bool { return r != nil && bytes.Equal(r.body, body) }

// maxSurrogateKey bounds the Surrogate-Key header value (as edge/pages
// does for product pages; Fastly's limit is 16 KB, Varnish's xkey none).
const maxSurrogateKey = 4096

func joinKeys(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		if b.Len()+1+len(k) > maxSurrogateKey {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
	}
	return b.String()
}

// hasKey reports whether r is tagged with key.
func (r *rendered) hasKey(key string) bool {
	for _, k := range r.keys {
		if k == key {
			return true
		}
	}
	return false
}
