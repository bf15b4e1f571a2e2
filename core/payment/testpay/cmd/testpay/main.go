// Command testpay is shopedge's Stripe-compatible payment simulator: a
// stateful process with a ledger file, Stripe's Idempotency-Key semantics
// and test tokens that choose each charge's outcome, including the faults
// that lose money in real systems (see package testpay). The core reaches
// it through its Stripe adapter, exactly as it reaches Stripe.
//
// Configuration: defaults < -config file < TESTPAY_<PATH> variables <
// -<path> flags, e.g. TESTPAY_SECRET_KEY, TESTPAY_SERVER_ADDR,
// TESTPAY_LEDGER, -timeout-after-charge-delay=3s.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/fasthttp/router"

	"shopedge/core/payment/testpay"
	"shopedge/internal/app"
	"shopedge/internal/config"
	"shopedge/internal/logging"
)

func main() {
	os.Exit(app.Main("testpay", NewMain()))
}

// Main is the testpay process.
type Main struct {
	app.Base
	Config testpay.ServerConfig
	Sim    *testpay.Server
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Base: app.NewBase(os.Stderr), Config: testpay.DefaultServerConfig()}
}

// ParseFlags loads and validates the configuration.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	return config.Load(&m.Config, args, config.Options{Name: "testpay", EnvPrefix: "TESTPAY_", Usage: m.Stderr})
}

// Run replays the ledger and serves the API.
func (m *Main) Run(context.Context) error {
	m.Log = m.Config.Log.New(m.Stderr, "testpay")
	m.Log.Info().Str("addr", m.Config.Server.Addr).Str("ledger", m.Config.Ledger).Msg("starting")
	if err := logging.Step(m.Log, "open ledger", func() (err error) {
		m.Sim, err = testpay.NewServer(m.Config, m.Log)
		return err
	}); err != nil {
		return err
	}
	return m.StartServer(m.Config.Server, app.Handlers{
		Routes: func(r *router.Router) { m.Sim.Register(r) },
		Ready:  func() bool { return m.Sim.LedgerErr() == nil },
		// /metrics and /debug/pprof/ take the secret key, as the API does.
		OpsTokens: []string{m.Config.SecretKey},
	})
}

// Close drains HTTP, then closes the ledger.
func (m *Main) Close() error {
	errs := []error{m.StopServer()}
	if m.Sim != nil {
		errs = append(errs, logging.Step(m.Log, "close ledger", func() error {
			if err := m.Sim.Close(); err != nil {
				return fmt.Errorf("cannot close the ledger: %w", err)
			}
			return nil
		}))
		m.Sim = nil
	}
	return errors.Join(errs...)
}
