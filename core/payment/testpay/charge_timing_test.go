package testpay_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/payment"
	"shopedge/core/payment/stripegw"
	"shopedge/core/payment/testpay"
	"shopedge/internal/app"
)

// BenchmarkChargeProcess measures one charge through the Stripe adapter
// (stripe-go, HTTP on loopback) into the simulator with its ledger
// (fsynced), from parallel callers: the payment path of a checkout with
// testpay as a process. CPU of both sides is in this process.
func BenchmarkChargeProcess(b *testing.B) {
	cfg := testpay.DefaultServerConfig()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Ledger = b.TempDir() + "/ledger"
	cfg.SecretKey = secret
	srv, err := testpay.NewServer(cfg, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	h, err := app.Serve(cfg.Server, zerolog.Nop(), metrics.NewSet(), app.Handlers{Routes: srv.Register})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = h.Shutdown(context.Background()); _ = srv.Close() }()
	gc := stripegw.DefaultConfig()
	gc.URL, gc.SecretKey = "http://"+h.Addr(), secret
	g, err := stripegw.New(gc)
	if err != nil {
		b.Fatal(err)
	}
	benchCharges(b, g)
}

// BenchmarkChargeInProcess is the baseline twin: the in-process gateway.
func BenchmarkChargeInProcess(b *testing.B) {
	g, err := testpay.New(testpay.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	benchCharges(b, g)
}

func benchCharges(b *testing.B, g payment.Gateway) {
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // callers at once, as a checkout storm's charges arrive
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := "bench-" + strconv.FormatInt(n.Add(1), 10)
			if _, err := g.Charge(context.Background(), chargeReq(key, testpay.TokenOK)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
