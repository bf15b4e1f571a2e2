package httpapi

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/catalog"
)

// Purge limits.
const (
	MaxPurgeKeys   = 1000
	MaxPurgeKeyLen = 256
)

// readJSON strictly decodes the request body into v: 413 beyond
// MaxBodyBytes, 400 naming the field on unknown fields or wrong types.
func (a *API) readJSON(ctx *fasthttp.RequestCtx, v any) error {
	if n := ctx.Request.Header.ContentLength(); n > a.cfg.MaxBodyBytes {
		return api.Errorf(api.ECodeTooLarge, "body of %d bytes exceeds %d", n, a.cfg.MaxBodyBytes)
	}
	body := ctx.PostBody()
	if len(body) > a.cfg.MaxBodyBytes {
		return api.Errorf(api.ECodeTooLarge, "body exceeds %d bytes", a.cfg.MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return api.Invalid("body", "a JSON body is required")
	}
	return catalog.DecodeStrict(body, v)
}

func (a *API) putProduct(ctx *fasthttp.RequestCtx) error {
	id := param(ctx, "id")
	if err := catalog.ValidID("id", id); err != nil {
		return err
	}
	var p api.Product
	if err := a.readJSON(ctx, &p); err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = id
	} else if p.ID != id {
		return api.Invalid("id", "body id %q does not match the path id %q", p.ID, id)
	}
	seq, err := a.cat.Put(ctx, &p)
	if err != nil {
		return err
	}
	got, err := a.cat.Get(ctx, id)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(api.SeqHeader, strconv.FormatUint(seq, 10))
	return writeJSON(ctx, got)
}

func (a *API) deleteProduct(ctx *fasthttp.RequestCtx) error {
	id := param(ctx, "id")
	if err := catalog.ValidID("id", id); err != nil {
		return err
	}
	seq, err := a.cat.Delete(ctx, id)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(api.SeqHeader, strconv.FormatUint(seq, 10))
	return writeJSON(ctx, map[string]any{"deleted": id, "seq": seq})
}

func (a *API) getProduct(ctx *fasthttp.RequestCtx) error {
	id := param(ctx, "id")
	if err := catalog.ValidID("id", id); err != nil {
		return err
	}
	p, err := a.cat.Get(ctx, id)
	if err != nil {
		return err
	}
	return writeJSON(ctx, p)
}

func (a *API) putStock(ctx *fasthttp.RequestCtx) error {
	sku := param(ctx, "sku")
	if err := catalog.ValidID("sku", sku); err != nil {
		return err
	}
	var u api.StockUpdate
	if err := a.readJSON(ctx, &u); err != nil {
		return err
	}
	if u.OnHand == nil {
		return api.Invalid("on_hand", "required")
	}
	st, err := a.cat.SetStock(ctx, sku, *u.OnHand)
	if err != nil {
		return err
	}
	st.SKU = ""
	return writeJSON(ctx, st)
}

func (a *API) getStock(ctx *fasthttp.RequestCtx) error {
	sku := param(ctx, "sku")
	if err := catalog.ValidID("sku", sku); err != nil {
		return err
	}
	st, err := a.cat.Stock(ctx, sku)
	if err != nil {
		return err
	}
	st.SKU = ""
	return writeJSON(ctx, st)
}

// errImportTooLarge marks an import body beyond MaxImportBytes.
var errImportTooLarge = errors.New("import body too large")

// limitReader fails with errImportTooLarge past n bytes.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errImportTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errImportTooLarge
	}
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}

// bodyError marks a failure to read the request body (bad gzip, client
// gone), as opposed to a store failure.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// importProducts streams the NDJSON body (optionally Content-Encoding:
// gzip) into the catalog. It reads the request body stream when the server
// runs with StreamRequestBody, else the buffered body.
func (a *API) importProducts(ctx *fasthttp.RequestCtx) error {
	if n := ctx.Request.Header.ContentLength(); int64(n) > a.cfg.MaxImportBytes {
		return api.Errorf(api.ECodeTooLarge, "import body of %d bytes exceeds %d", n, a.cfg.MaxImportBytes)
	}
	var r io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		r = s
	} else {
		r = bytes.NewReader(ctx.PostBody())
	}
	switch enc := string(ctx.Request.Header.ContentEncoding()); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return api.Invalid("body", "bad gzip body: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		return api.Invalid("Content-Encoding", "unsupported encoding %q", enc)
	}
	res, err := a.cat.Import(ctx, &limitReader{r: r, n: a.cfg.MaxImportBytes}, catalog.ImportOptions{})
	if errors.Is(err, errImportTooLarge) {
		return api.Errorf(api.ECodeTooLarge, "import body exceeds %d bytes (%d products imported before the limit)",
			a.cfg.MaxImportBytes, res.Imported)
	}
	var be *bodyError
	if errors.As(err, &be) {
		return api.Invalid("body", "cannot read body after %d imported products: %v", res.Imported, be.err)
	}
	if err != nil {
		return fmt.Errorf("cannot import (%d imported): %w", res.Imported, err)
	}
	return writeJSON(ctx, res)
}

func (a *API) purge(ctx *fasthttp.RequestCtx) error {
	var p api.Purge
	if err := a.readJSON(ctx, &p); err != nil {
		return err
	}
	if err := validPurge(&p); err != nil {
		return err
	}
	seq, err := a.cat.Purge(ctx, p.Keys, p.All)
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(api.SeqHeader, strconv.FormatUint(seq, 10))
	return writeJSON(ctx, map[string]any{"seq": seq, "keys": len(p.Keys), "all": p.All})
}

func validPurge(p *api.Purge) error {
	if p.All {
		if len(p.Keys) > 0 {
			return api.Invalid("keys", `give either "keys" or "all", not both`)
		}
		return nil
	}
	if len(p.Keys) == 0 {
		return api.Invalid("keys", `at least one key, or "all": true, is required`)
	}
	if len(p.Keys) > MaxPurgeKeys {
		return api.Invalid("keys", "at most %d keys, got %d", MaxPurgeKeys, len(p.Keys))
	}
	for i, k := range p.Keys {
		f := fmt.Sprintf("keys[%d]", i)
		if k == "" || len(k) > MaxPurgeKeyLen {
			return api.Invalid(f, "must be 1..%d bytes", MaxPurgeKeyLen)
		}
		for j := 0; j < len(k); j++ {
			if c := k[j]; c <= ' ' || c >= 0x7f {
				return api.Invalid(f, "byte %d: only printable ASCII without spaces allowed", j)
			}
		}
	}
	return nil
}
