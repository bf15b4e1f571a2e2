package storefront

// Header names and values, kept as bytes so that the hit path allocates
// nothing.
var (
	hETag            = []byte("ETag")
	hCacheControl    = []byte("Cache-Control")
	hSurrogateKey    = []byte("Surrogate-Key")
	hVary            = []byte("Vary")
	hContentEncoding = []byte("Content-Encoding")
	hStale           = []byte("X-Shopedge-Stale")
	hReferrerPolicy  = []byte("Referrer-Policy")
	hAcceptEncoding  = []byte("Accept-Encoding")
	hIfNoneMatch     = []byte("If-None-Match")
	vAcceptEncoding  = []byte("Accept-Encoding")
	vGzip            = []byte("gzip")
	vOne             = []byte("1")
	vNoReferrer      = []byte("no-referrer")
	ctHTML           = []byte("text/html; charset=utf-8")
)
