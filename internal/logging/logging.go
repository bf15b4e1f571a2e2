// Package logging builds the processes' loggers (zerolog JSON lines with
// card numbers redacted) from their configuration, and logs the steps of a
// process's start and stop with their durations.
package logging

import (
	"io"
	"time"

	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/internal/config"
)

// Config configures a process logger: zerolog JSON lines on one writer.
type Config struct {
	// Level is the minimum level logged: trace, debug, info, warn, error.
	Level string `yaml:"level" help:"minimum log level: trace, debug, info, warn, error"`
}

// DefaultConfig returns the default logging configuration (level info).
func DefaultConfig() Config { return Config{Level: "info"} }

// Validate reports an unknown level, naming the field.
func (c Config) Validate() error {
	if _, err := c.level(); err != nil {
		return err
	}
	return nil
}

func (c Config) level() (zerolog.Level, error) {
	switch c.Level {
	case "trace", "debug", "info", "warn", "error":
		return zerolog.ParseLevel(c.Level)
	}
	return zerolog.NoLevel, config.Invalid("level", "unknown level %q (want trace, debug, info, warn or error)", c.Level)
}

// New returns a logger writing JSON lines to w at the configured level,
// each with a timestamp and the given component name. Every line passes
// through RedactingWriter: whatever a component logs, a card number never
// reaches w. The logger owns no resources; w stays the caller's.
func (c Config) New(w io.Writer, component string) zerolog.Logger {
	lvl, err := c.level()
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(RedactingWriter{W: w}).Level(lvl).With().
		Timestamp().Str("component", component).Logger()
}

// RedactingWriter writes to W what it is given with the digits of every
// card number masked (api.RedactCardNumbers). zerolog hands it one whole
// line per Write, so a number is never split between two writes. A line
// without one is written as it is, without a copy.
type RedactingWriter struct{ W io.Writer }

func (r RedactingWriter) Write(p []byte) (int, error) {
	if !api.ContainsCardNumber(p) {
		return r.W.Write(p)
	}
	out, _ := api.RedactCardNumbers(make([]byte, 0, len(p)), p)
	if _, err := r.W.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Step runs fn, then logs name with its duration (info on success, error on
// failure) and returns fn's error. Mains use it for every start/stop step.
func Step(log zerolog.Logger, name string, fn func() error) error {
	start := time.Now()
	err := fn()
	ev := log.Info()
	if err != nil {
		ev = log.Error().Err(err)
	}
	ev.Str("step", name).Float64("duration_ms", float64(time.Since(start).Microseconds())/1000).Msg(name)
	return err
}
