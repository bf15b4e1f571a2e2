// Package pages keeps the edge's precomputed product pages: every product
// rendered once, when it changes, as JSON and HTML (plain and gzip) with a
// strong ETag and its Surrogate-Key header, stored off-heap in fastcache.
// A Cache holds them and answers requests' lookups; its Loader, a
// follow.Sink, fills it from the core's snapshot, keeps it current from
// the change feed, renders what a request missed and prerenders in the
// background after a load.
package pages

import (
	"compress/flate"

	"shopedge/internal/config"
)

// Config configures a Cache.
type Config struct {
	// CacheBytes is the off-heap budget for rendered bytes. Entries beyond
	// it are evicted and fetched from the core again on demand.
	CacheBytes config.ByteSize `yaml:"cache_bytes"`
	// Workers is the number of goroutines preparing a snapshot load: they
	// render each product with render_all_on_load, else they hash the
	// loaded lines for the one goroutine storing them (0 means GOMAXPROCS).
	Workers int `yaml:"workers"`
	// GzipLevel is the compress/flate level of the gzip representations.
	GzipLevel int `yaml:"gzip_level"`
	// RenderAllOnLoad renders every representation during a snapshot
	// load. By default a load stores the JSON only and the HTML and gzip
	// representations are rendered from it on the first request that
	// needs them (Loader.FillFor): a full render costs ~15x the JSON one, and with
	// a million products most of it would be evicted before use.
	RenderAllOnLoad bool `yaml:"render_all_on_load"`
	// LoadMaxFill is the fraction of cache_bytes a snapshot load may fill
	// with JSON. Beyond it, loaded products are indexed (known, with their
	// slug) but their bytes are fetched on first request: the core sends
	// the most popular products first, so a catalog larger than the cache
	// keeps the ones asked for most, and room is left for their HTML.
	// 0 stores every loaded product's JSON.
	LoadMaxFill float64 `yaml:"load_max_fill"`
	// Prerender renders the HTML and gzip representations of the products
	// a snapshot load stored as JSON only in the background once the load
	// is done, most popular first, so steady-state hits need no render
	// (a first request still renders what the pass has not reached).
	Prerender bool `yaml:"prerender"`
	// PrerenderWorkers is the number of goroutines of that pass (0: half
	// the CPUs, at least one); they yield to requests between products.
	PrerenderWorkers int `yaml:"prerender_workers"`
	// PrerenderMaxFill is the fraction of cache_bytes the pass may fill:
	// it stops there rather than evict stored pages (with a million
	// products the JSON alone can fill the cache).
	PrerenderMaxFill float64 `yaml:"prerender_max_fill"`
	// HotEntries is the number of slots of the on-heap hot tier in front
	// of the off-heap cache (rounded up to a power of two, two-way set
	// associative; 0 turns it off): the most requested representations
	// are served from it with no lock and no copy.
	HotEntries int `yaml:"hot_entries"`
	// HotMaxBytes is the largest representation the hot tier keeps.
	HotMaxBytes int `yaml:"hot_max_bytes"`
	// HotBytes bounds the heap the hot tier's entries take (0 turns the
	// tier off).
	HotBytes config.ByteSize `yaml:"hot_bytes"`
}

// DefaultConfig returns a 512 MiB cache, one render worker per CPU, gzip
// level 5, snapshot JSON up to 60 % of the cache and a background
// prerender pass on half the CPUs up to 80 % of it, and a hot tier of
// 65536 representations of up to 8 KiB and 64 MiB in all.
func DefaultConfig() Config {
	return Config{CacheBytes: 512 << 20, Workers: 0, GzipLevel: 5, LoadMaxFill: 0.6, Prerender: true, PrerenderMaxFill: 0.8,
		HotEntries: 65536, HotMaxBytes: 8 << 10, HotBytes: 64 << 20}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.CacheBytes < 32<<20:
		return config.Invalid("cache_bytes", "must be >= 32 MiB, got %d", c.CacheBytes)
	case c.Workers < 0:
		return config.Invalid("workers", "must be >= 0, got %d", c.Workers)
	case c.GzipLevel < flate.BestSpeed || c.GzipLevel > flate.BestCompression:
		return config.Invalid("gzip_level", "must be in 1..9, got %d", c.GzipLevel)
	case !(c.LoadMaxFill >= 0 && c.LoadMaxFill <= 1):
		return config.Invalid("load_max_fill", "must be in [0, 1], got %g", c.LoadMaxFill)
	case c.PrerenderWorkers < 0:
		return config.Invalid("prerender_workers", "must be >= 0, got %d", c.PrerenderWorkers)
	case c.Prerender && !(c.PrerenderMaxFill > 0 && c.PrerenderMaxFill <= 1):
		return config.Invalid("prerender_max_fill", "must be in (0, 1], got %g", c.PrerenderMaxFill)
	case c.HotEntries < 0 || c.HotEntries > 1<<20:
		return config.Invalid("hot_entries", "must be in 0..1048576, got %d", c.HotEntries)
	case c.HotMaxBytes < 0 || c.HotMaxBytes > 1<<20:
		return config.Invalid("hot_max_bytes", "must be in 0..1048576, got %d", c.HotMaxBytes)
	case c.HotBytes < 0 || c.HotBytes > 64<<30:
		return config.Invalid("hot_bytes", "must be in 0..64 GiB, got %d", c.HotBytes)
	}
	return nil
}
