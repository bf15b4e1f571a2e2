// Package theme is the storefront's look: the stylesheet and script every
// storefront page loads (embedded, served by the edge from precomputed
// bytes), and the shared layout (document head, site header with the
// search box, footer) that edge/storefront's pages and edge/pages' product
// page both write. It holds no state and depends on nothing of shopedge,
// so both can import it.
package theme

import (
	"bytes"
	"compress/flate"
	_ "embed"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/valyala/fasthttp"
)

//go:embed shop.css
var shopCSS []byte

//go:embed shop.js
var shopJS []byte

// Asset is one static file of the theme, rendered once at start.
type Asset struct {
	// Path is the route it is served at; URL adds a content hash as a
	// cache-busting query (?v=…), which pages link to.
	Path, URL   string
	ContentType string
	// Body and Gzip are the plain and gzip bytes; ETag and GzipETag are
	// their strong, quoted ETags. Immutable.
	Body, Gzip     []byte
	ETag, GzipETag []byte
	// Version is the content hash in URL.
	Version string
}

// The theme's assets.
var (
	CSS = newAsset("/assets/shop.css", "text/css; charset=utf-8", shopCSS)
	JS  = newAsset("/assets/shop.js", "text/javascript; charset=utf-8", shopJS)
)

// Assets lists every asset.
func Assets() []*Asset { return []*Asset{CSS, JS} }

func newAsset(path, ctype string, body []byte) *Asset {
	h := strconv.FormatUint(xxhash.Sum64(body), 16)
	if len(h) > 10 {
		h = h[:10]
	}
	gz := fasthttp.AppendGzipBytesLevel(nil, body, flate.BestCompression)
	return &Asset{Path: path, URL: path + "?v=" + h, ContentType: ctype, Body: body, Gzip: gz,
		ETag: ETag(body), GzipETag: ETag(gz), Version: h}
}

// ETagLen is the length of the ETags ETag returns.
const ETagLen = 18

// ETag returns a strong, quoted ETag of b: its xxhash64 in hex.
func ETag(b []byte) []byte { return AppendETag(make([]byte, 0, ETagLen), b) }

// AppendETag appends ETag(b) to dst (no allocation when dst has room for
// ETagLen more bytes).
func AppendETag(dst, b []byte) []byte {
	dst = append(dst, '"')
	h := xxhash.Sum64(b)
	for i := 60; i >= 0; i -= 4 {
		dst = append(dst, "0123456789abcdef"[(h>>uint(i))&0xf])
	}
	return append(dst, '"')
}

// MaskVersions returns page with the versions of the theme's asset URLs
// replaced by "VERSION", for golden files that should not change with
// every stylesheet edit.
func MaskVersions(page []byte) []byte {
	for _, a := range Assets() {
		page = bytes.ReplaceAll(page, []byte(a.URL), []byte(a.Path+"?v=VERSION"))
	}
	return page
}
