package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shopedge/internal/config/configtest"
	"shopedge/internal/proctest"
)

// testInternalToken is the internal token of the cores these tests start.
const testInternalToken = "test-internal-token-0123"

// bins builds the core binary once per test run.
var bins = proctest.NewBuilder("shopedge/core")

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

func TestSingleCoreProcess(t *testing.T) {
	bin := bins.Path(t, "core")
	dataDir := t.TempDir()
	dbPath := filepath.Join(dataDir, "sub", "core.db")
	p, addr := proctest.StartServing(t, "core", bin, proctest.CleanEnv("SHOPEDGE_ADMIN_TOKEN=secret-token", "SHOPEDGE_INTERNAL_TOKEN="+testInternalToken),
		"-server.addr=127.0.0.1:0", "-store.path="+dbPath, "-store.no-sync")
	proctest.CheckServing(t, "http://"+addr, 0, testInternalToken)
	if _, err := os.Stat(dbPath); err != nil {
		t.Fatalf("store file: %v", err)
	}
	if code := p.Stop(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.Logs())
	}
	logs := p.Logs()
	for _, step := range []string{"open store", "start http server", "stop http server", "close store"} {
		if !strings.Contains(logs, `"step":"`+step+`"`) || !strings.Contains(logs, "duration_ms") {
			t.Fatalf("step %q not logged with its duration:\n%s", step, logs)
		}
	}
}

func TestSingleCoreInvalidConfig(t *testing.T) {
	bin := bins.Path(t, "core")
	badFile := filepath.Join(t.TempDir(), "core.yaml")
	if err := os.WriteFile(badFile, []byte("server:\n  adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(env []string, field string, args ...string) {
		t.Helper()
		proctest.WantConfigError(t, bin, env, field, args...)
	}
	token := []string{"SHOPEDGE_ADMIN_TOKEN=test-admin-token", "SHOPEDGE_INTERNAL_TOKEN=" + testInternalToken}
	f(token, "-server.read-timeout", "-server.read-timeout=abc")
	f(token, "server.concurrency", "-server.concurrency=0")
	f(append(token, "SHOPEDGE_STORE_BACKEND=rocks"), "store.backend")
	f(token, "store.pd_endpoints", "-store.backend=tikv")
	f(nil, "admin_token")
	f(token[:1], "internal_token")
	f(append(token[:1:1], "SHOPEDGE_INTERNAL_TOKEN=short"), "internal_token")
	f(token, "ops.addr", "-ops.addr=nowhere")
	f(token, "server.drain_delay", "-server.drain-delay=-1s")
	f([]string{"SHOPEDGE_ADMIN_TOKEN=short"}, "admin_token")
	f(token, "server.adr", "-config", badFile)
	f(token, "log.level", "-log.level=chatty")
}

// An unreachable TiKV cluster fails start-up within store.connect_timeout.
func TestSingleCoreTiKVUnreachable(t *testing.T) {
	bin := bins.Path(t, "core")
	code, stderr := proctest.Run(t, bin, proctest.CleanEnv("SHOPEDGE_ADMIN_TOKEN=test-admin-token", "SHOPEDGE_INTERNAL_TOKEN="+testInternalToken), 20*time.Second,
		"-server.addr=127.0.0.1:0", "-store.backend=tikv", "-store.pd-endpoints=127.0.0.1:1", "-store.connect-timeout=1s")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	if !strings.Contains(stderr, "cannot open the tikv store") {
		t.Fatalf("stderr does not say why: %s", stderr)
	}
}

// TestSingleCoreInProcess runs the same wiring in the test process.
func TestSingleCoreInProcess(t *testing.T) {
	var logs proctest.SyncBuffer
	m := NewMain()
	m.Stderr = &logs
	dbPath := filepath.Join(t.TempDir(), "core.db")
	ctx := context.Background()
	if err := m.ParseFlags(ctx, []string{"-admin-token=test-admin-token", "-internal-token=" + testInternalToken, "-server.addr=127.0.0.1:0", "-store.path=" + dbPath, "-store.no-sync"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	proctest.CheckServing(t, "http://"+m.Addr(), 0, testInternalToken)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Close released the store: it opens again at once.
	m2 := NewMain()
	m2.Stderr = &logs
	if err := m2.ParseFlags(ctx, []string{"-admin-token=test-admin-token", "-internal-open", "-server.addr=127.0.0.1:0", "-store.path=" + dbPath, "-store.lock-timeout=1s"}); err != nil {
		t.Fatal(err)
	}
	if err := m2.Run(ctx); err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
}

// configs/core.yaml lists every setting with its default.
func TestConfigFileMatchesDefaults(t *testing.T) {
	configtest.CheckDefaultsFile(t, "../configs/core.yaml", DefaultConfig)
}
