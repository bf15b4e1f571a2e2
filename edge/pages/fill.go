package pages

import (
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"

	"shopedge/core/api"
)

// jsonSource is the part of a Cache a fill reads and writes (see
// write.go).
type jsonSource interface {
	storedJSON(id, buf []byte) (at slotVersion, body, _ []byte, ok bool)
	setIfSame(at slotVersion, r *Rendered, mask uint8)
}

// filler renders representations of a product from the JSON a snapshot
// load stored, for the Loader (a request that missed) and the prerender
// pass.
type filler struct {
	c    jsonSource
	gzip int
	log  zerolog.Logger
	m    *counters
}

// fill renders the representations of id in mask from its stored JSON
// and stores those besides the JSON unless the product changed or was
// purged meanwhile (the slot's version moved on). buf is reused for the
// stored JSON and returned for reuse. ok is false when no JSON is stored.
func (f *filler) fill(id, buf []byte, mask uint8) (r *Rendered, _ []byte, ok bool) {
	at, body, buf, ok := f.c.storedJSON(id, buf)
	if !ok {
		return nil, buf, false
	}
	var p api.Product
	if err := json.Unmarshal(body, &p); err != nil {
		f.log.Error().Err(err).Bytes("id", id).Msg("BUG: stored product JSON does not decode")
		return nil, buf, false
	}
	r, err := renderFor(&p, mask, f.gzip)
	if err != nil {
		f.m.renderErrors.Inc()
		return nil, buf, false
	}
	f.c.setIfSame(at, r, mask&^(1<<JSON))
	return r, buf, true
}
