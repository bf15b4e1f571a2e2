package changelog

import (
	"time"

	"shopedge/internal/config"
)

// Config tunes the change log.
type Config struct {
	// RetentionEvents is how many of the newest events the log keeps; older
	// ones are trimmed on append and readers behind them get ErrGone.
	RetentionEvents uint64 `yaml:"retention_events"`
	// PollInterval is how often a waiting reader re-reads the store, which is
	// how it learns of events appended by other core processes.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxWait bounds how long Wait may block.
	MaxWait time.Duration `yaml:"max_wait"`
	// MaxLimit bounds how many events one Read returns.
	MaxLimit int `yaml:"max_limit"`
}

// DefaultConfig returns the default change-log configuration.
func DefaultConfig() Config {
	return Config{
		RetentionEvents: 100_000,
		PollInterval:    100 * time.Millisecond,
		MaxWait:         30 * time.Second,
		MaxLimit:        1000,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.RetentionEvents < 1:
		return config.Invalid("retention_events", "must be >= 1, got %d", c.RetentionEvents)
	case c.PollInterval <= 0:
		return config.Invalid("poll_interval", "must be > 0, got %s", c.PollInterval)
	case c.MaxWait <= 0:
		return config.Invalid("max_wait", "must be > 0, got %s", c.MaxWait)
	case c.MaxLimit < 1:
		return config.Invalid("max_limit", "must be >= 1, got %d", c.MaxLimit)
	}
	return nil
}
