package catalog

import (
	"shopedge/core/api"
	"shopedge/internal/config"
)

// Config tunes the catalog service.
type Config struct {
	// LowStockThreshold: a SKU with available <= 0 is out_of_stock, with
	// available <= LowStockThreshold low_stock, else in_stock.
	LowStockThreshold int64 `yaml:"low_stock_threshold"`
	// ImportBatch is how many products one import transaction commits.
	ImportBatch int `yaml:"import_batch"`
	// ImportWorkers is how many import batches are committed concurrently
	// (so the store's group commit shares one fsync among them).
	ImportWorkers int `yaml:"import_workers"`
	// ImportMaxLine bounds one NDJSON line of an import, in bytes.
	ImportMaxLine int `yaml:"import_max_line"`
	// WriteBatch is how many concurrent catalog writes (puts, deletes,
	// purges, stock settings) of one core share a store transaction, and
	// so one update of the change log's sequence record, on a store that
	// does not group commits itself (TiKV). 1 gives every write its own
	// transaction. Imports are batched by ImportBatch instead.
	WriteBatch int `yaml:"write_batch"`
}

// DefaultConfig returns the default catalog configuration.
func DefaultConfig() Config {
	return Config{
		LowStockThreshold: 10,
		ImportBatch:       256,
		ImportWorkers:     4,
		ImportMaxLine:     8 << 20,
		WriteBatch:        64,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.LowStockThreshold < 0:
		return config.Invalid("low_stock_threshold", "must be >= 0, got %d", c.LowStockThreshold)
	case c.ImportBatch < 1 || c.ImportBatch > 10000:
		return config.Invalid("import_batch", "must be in [1, 10000], got %d", c.ImportBatch)
	case c.ImportWorkers < 1 || c.ImportWorkers > 256:
		return config.Invalid("import_workers", "must be in [1, 256], got %d", c.ImportWorkers)
	case c.ImportMaxLine < 1024:
		return config.Invalid("import_max_line", "must be >= 1024, got %d", c.ImportMaxLine)
	case c.WriteBatch < 1 || c.WriteBatch > 10000:
		return config.Invalid("write_batch", "must be in [1, 10000], got %d", c.WriteBatch)
	}
	return nil
}

// Band returns the availability band of available units.
func (c Config) Band(available int64) string {
	switch {
	case available <= 0:
		return api.OutOfStock
	case available <= c.LowStockThreshold:
		return api.LowStock
	}
	return api.InStock
}
