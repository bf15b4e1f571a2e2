// Package app runs a tier's process around its wiring: load the
// configuration, start, wait for a stop signal or a server failure, stop in
// reverse order, and turn the outcome into the exit code.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

// Exit codes returned by Main and Run.
const (
	ExitOK      = 0 // clean stop, or -help
	ExitFailure = 1 // start, serve or stop failed
	ExitConfig  = 2 // invalid configuration
)

// App is one tier's wiring, as the core's and the edge's Main types
// implement it. Run is called at most once after a successful ParseFlags;
// Close is called after every Run, successful or not.
type App interface {
	// ParseFlags loads and validates the configuration from args.
	ParseFlags(ctx context.Context, args []string) error
	// Run starts everything and returns once the process serves.
	Run(ctx context.Context) error
	// Close stops everything Run started, even after a failed Run.
	Close() error
	// ServeErr delivers a failure of the server after Run returned.
	ServeErr() <-chan error
	// Output is where the configuration error line is written.
	Output() io.Writer
	// Logger is the process logger as Run left it.
	Logger() zerolog.Logger
}

// Main runs a on the process's arguments until SIGINT or SIGTERM and
// returns the exit code for os.Exit.
func Main(name string, a App) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, name, a, os.Args[1:])
}

// Run is Main with its context and arguments given: ExitOK after a clean
// stop (ctx ended) or -help, ExitConfig with one line "<name>: invalid
// configuration: …" on a's Output for a bad configuration, ExitFailure for
// any other failure.
func Run(ctx context.Context, name string, a App, args []string) int {
	if err := a.ParseFlags(ctx, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(a.Output(), "%s: invalid configuration: %v\n", name, err)
		return ExitConfig
	}
	err := a.Run(ctx)
	log := a.Logger() // set up by Run
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		_ = a.Close()
		return ExitFailure
	}
	code := ExitOK
	select {
	case <-ctx.Done():
		log.Info().Msg("signal received, stopping")
	case err := <-a.ServeErr():
		log.Error().Err(err).Msg("server failed")
		code = ExitFailure
	}
	if err := a.Close(); err != nil {
		log.Error().Err(err).Msg("stopped with errors")
		return ExitFailure
	}
	log.Info().Msg("stopped")
	return code
}
