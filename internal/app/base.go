package app

import (
	"context"
	"io"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/internal/httpserver"
	"shopedge/internal/logging"
)

// Base is the part of a tier's Main that every tier has: where it logs,
// its metrics and its HTTP server. A Main embeds it and so provides
// App's Output, Logger and ServeErr.
type Base struct {
	Stderr  io.Writer // log destination; os.Stderr by default
	Log     zerolog.Logger
	Metrics *metrics.Set
	Server  *Server // set by StartServer
}

// NewBase returns a Base writing to stderr, with a metrics set of its own
// and a logger that discards until the tier's Run sets Log up.
func NewBase(stderr io.Writer) Base {
	return Base{Stderr: stderr, Log: zerolog.Nop(), Metrics: metrics.NewSet()}
}

// StartServer is the "start http server" step: Serve on cfg with b's log
// and metrics.
func (b *Base) StartServer(cfg httpserver.Config, h Handlers) error {
	return logging.Step(b.Log, "start http server", func() (err error) {
		b.Server, err = Serve(cfg, b.Log, b.Metrics, h)
		return err
	})
}

// StopServer is the "stop http server" step: drain the server, if
// StartServer started one.
func (b *Base) StopServer() error {
	if b.Server == nil {
		return nil
	}
	return logging.Step(b.Log, "stop http server", func() error {
		return b.Server.Shutdown(context.Background())
	})
}

// Addr returns the address the HTTP server listens on, or "" before it
// started.
func (b *Base) Addr() string {
	if b.Server == nil {
		return ""
	}
	return b.Server.Addr()
}

// ServeErr delivers a failure of the HTTP server after it started.
func (b *Base) ServeErr() <-chan error {
	if b.Server == nil {
		return nil
	}
	return b.Server.Err()
}

// Output returns b.Stderr, where a configuration error is written.
func (b *Base) Output() io.Writer { return b.Stderr }

// Logger returns b.Log as it is now.
func (b *Base) Logger() zerolog.Logger { return b.Log }
