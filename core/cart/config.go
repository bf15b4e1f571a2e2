package cart

import (
	"time"

	"shopedge/internal/config"
)

// Config configures the cart service.
type Config struct {
	// MaxLines is the most lines a cart may hold.
	MaxLines int `yaml:"max_lines"`
	// MaxQuantity is the largest quantity of one line (the smallest is 1).
	MaxQuantity int64 `yaml:"max_quantity"`
	// MaxUnits is the most units one cart holds over all its lines: the
	// most stock one checkout of it can reserve (issue 13: without it one
	// cart could hold MaxLines × MaxQuantity units).
	MaxUnits int64 `yaml:"max_units"`
	// TTL is how long a cart lives after its last write (sliding expiry).
	TTL time.Duration `yaml:"ttl"`
	// SweepInterval is how often RunSweeper removes expired carts.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// SweepBatch is the most carts one sweep transaction removes.
	SweepBatch int `yaml:"sweep_batch"`
	// DigestKey signs the cart digests returned with every cart answer
	// (see api.CartDigester); the process's cart_digest_key. Empty: no
	// digests.
	DigestKey string `yaml:"-"`
	// Now is the clock (tests inject one); nil means time.Now.
	Now func() time.Time `yaml:"-"`
}

// DefaultConfig returns the defaults: 100 lines, quantities 1–999, 250
// units in all, carts expire 7 days after their last write, swept every
// minute.
func DefaultConfig() Config {
	return Config{
		MaxLines:      100,
		MaxQuantity:   999,
		MaxUnits:      250,
		TTL:           7 * 24 * time.Hour,
		SweepInterval: time.Minute,
		SweepBatch:    256,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxLines < 1 || c.MaxLines > 10000:
		return config.Invalid("max_lines", "must be within [1, 10000], got %d", c.MaxLines)
	case c.MaxQuantity < 1 || c.MaxQuantity > 1_000_000:
		return config.Invalid("max_quantity", "must be within [1, 1000000], got %d", c.MaxQuantity)
	case c.MaxUnits < 1 || c.MaxUnits > int64(c.MaxLines)*c.MaxQuantity:
		return config.Invalid("max_units", "must be within [1, max_lines × max_quantity = %d], got %d", int64(c.MaxLines)*c.MaxQuantity, c.MaxUnits)
	case c.TTL < time.Minute:
		return config.Invalid("ttl", "must be at least 1m, got %s", c.TTL)
	case c.SweepInterval <= 0:
		return config.Invalid("sweep_interval", "must be positive, got %s", c.SweepInterval)
	case c.SweepBatch < 1:
		return config.Invalid("sweep_batch", "must be positive, got %d", c.SweepBatch)
	}
	return nil
}
