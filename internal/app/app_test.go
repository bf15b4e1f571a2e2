package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeApp records the calls Run makes and fails where told.
type fakeApp struct {
	parseErr, runErr, closeErr error
	serveErr                   chan error
	out, logs                  bytes.Buffer
	log                        zerolog.Logger
	calls                      []string
}

func newFake() *fakeApp {
	return &fakeApp{serveErr: make(chan error, 1), log: zerolog.Nop()}
}

func (f *fakeApp) ParseFlags(_ context.Context, args []string) error {
	f.calls = append(f.calls, "parse "+strings.Join(args, " "))
	return f.parseErr
}

func (f *fakeApp) Run(context.Context) error {
	f.calls = append(f.calls, "run")
	f.log = zerolog.New(&f.logs) // as a Main's Run replaces its logger
	return f.runErr
}

func (f *fakeApp) Close() error {
	f.calls = append(f.calls, "close")
	return f.closeErr
}

func (f *fakeApp) ServeErr() <-chan error { return f.serveErr }
func (f *fakeApp) Output() io.Writer      { return &f.out }
func (f *fakeApp) Logger() zerolog.Logger { return f.log }

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestRunExitCodes(t *testing.T) {
	f := func(name string, setup func(*fakeApp), ctx context.Context, wantCode int, wantCalls, wantLog string) {
		t.Helper()
		a := newFake()
		setup(a)
		if code := Run(ctx, "tier", a, []string{"-x=1"}); code != wantCode {
			t.Fatalf("%s: exit code %d, want %d", name, code, wantCode)
		}
		if calls := strings.Join(a.calls, ", "); calls != wantCalls {
			t.Fatalf("%s: calls %q, want %q", name, calls, wantCalls)
		}
		if !strings.Contains(a.logs.String(), wantLog) {
			t.Fatalf("%s: logs %q lack %q", name, a.logs.String(), wantLog)
		}
	}
	none := func(*fakeApp) {}
	f("signal", none, cancelled(), ExitOK, "parse -x=1, run, close", `"message":"stopped"`)
	f("help", func(a *fakeApp) { a.parseErr = fmt.Errorf("usage: %w", flag.ErrHelp) },
		cancelled(), ExitOK, "parse -x=1", "")
	f("start failure", func(a *fakeApp) { a.runErr = errors.New("port taken") },
		cancelled(), ExitFailure, "parse -x=1, run, close", `"error":"port taken","message":"cannot start"`)
	f("serve failure", func(a *fakeApp) { a.serveErr <- errors.New("accept failed") },
		context.Background(), ExitFailure, "parse -x=1, run, close", `"error":"accept failed","message":"server failed"`)
	f("close failure", func(a *fakeApp) { a.closeErr = errors.New("store busy") },
		cancelled(), ExitFailure, "parse -x=1, run, close", `"message":"stopped with errors"`)
}

func TestRunInvalidConfigIsOneLine(t *testing.T) {
	a := newFake()
	a.parseErr = errors.New("server.concurrency: must be positive")
	if code := Run(context.Background(), "edge", a, nil); code != ExitConfig {
		t.Fatalf("exit code %d, want %d", code, ExitConfig)
	}
	if got, want := a.out.String(), "edge: invalid configuration: server.concurrency: must be positive\n"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if len(a.calls) != 1 {
		t.Fatalf("calls after an invalid configuration: %q", a.calls)
	}
}

// Run waits for the context or a server failure before it stops.
func TestRunWaitsForStop(t *testing.T) {
	a := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Run(ctx, "core", a, nil) }()
	select {
	case code := <-done:
		t.Fatalf("Run returned %d before the context ended", code)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit code %d, want %d", code, ExitOK)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the context ending")
	}
	if !strings.Contains(a.logs.String(), "signal received, stopping") {
		t.Fatalf("logs %q", a.logs.String())
	}
}
