package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/edge/follow/fakecore"
	"shopedge/internal/config/configtest"
	"shopedge/internal/openapi"
	"shopedge/internal/proctest"
)

// bins builds the edge binary once per test run.
var bins = proctest.NewBuilder("shopedge/edge")

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// startFakeCore serves the core's internal feed with one product, so an
// edge can load its snapshot and turn ready.
func startFakeCore(t *testing.T) *fakecore.Core {
	t.Helper()
	c := fakecore.New()
	c.Upsert(&api.Product{ID: "1", Slug: "one-1", Name: "One", SKUs: []api.SKU{{SKU: "1", Availability: api.InStock}}})
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// TestSingleEdgeNotReadyWithoutCore: /readyz stays 503 until a snapshot
// has loaded, while /healthz answers.
func TestSingleEdgeNotReadyWithoutCore(t *testing.T) {
	m := NewMain()
	m.Stderr = io.Discard
	ctx := context.Background()
	if err := m.ParseFlags(ctx, []string{"-admin-token=test-admin-token", "-server.addr=127.0.0.1:0", "-core.addrs=127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	base := "http://" + m.Addr()
	if s := proctest.Get(t, base+"/healthz").StatusCode(); s != 200 {
		t.Fatalf("/healthz = %d", s)
	}
	time.Sleep(200 * time.Millisecond)
	if s := proctest.Get(t, base+"/readyz").StatusCode(); s != 503 {
		t.Fatalf("/readyz without a core = %d, want 503", s)
	}
}

func TestSingleEdgeProcess(t *testing.T) {
	bin := bins.Path(t, "edge")
	core := startFakeCore(t)
	p, addr := proctest.StartServing(t, "edge", bin, proctest.CleanEnv("SHOPEDGE_ADMIN_TOKEN=secret-token", "SHOPEDGE_CORE_ADDRS="+core.Addr()),
		"-server.addr=127.0.0.1:0", "-pages.cache-bytes=33554432")
	proctest.CheckServing(t, "http://"+addr, 10*time.Second, "secret-token")
	if code := p.Stop(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.Logs())
	}
	logs := p.Logs()
	for _, step := range []string{"start services", "start http server", "stop http server", "stop services"} {
		if !strings.Contains(logs, `"step":"`+step+`"`) || !strings.Contains(logs, "duration_ms") {
			t.Fatalf("step %q not logged with its duration:\n%s", step, logs)
		}
	}
}

func TestSingleEdgeInvalidConfig(t *testing.T) {
	bin := bins.Path(t, "edge")
	badFile := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(badFile, []byte("pages:\n  cache: 1GB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(env []string, field string, args ...string) {
		t.Helper()
		proctest.WantConfigError(t, bin, env, field, args...)
	}
	token := []string{"SHOPEDGE_ADMIN_TOKEN=test-admin-token"}
	f(token, "-server.write-timeout", "-server.write-timeout=soon")
	f(token, "pages.cache_bytes: must be", "-pages.cache-bytes=1048576")
	f(token, "-pages.cache-bytes", "-pages.cache-bytes=lots")
	f(append(token, "SHOPEDGE_CORE_ADDRS=nohostport"), "core.addrs")
	f(token, "core.addrs", "-core.addrs=")
	f(token, "memory_limit", "-memory-limit=600000000") // less than the caches need
	f(nil, "admin_token")
	f(token, "pages.cache", "-config", badFile)
	f(token, "ops.addr", "-ops.addr=nowhere")
}

// TestSingleEdgeInProcess runs the same wiring in the test process.
func TestSingleEdgeInProcess(t *testing.T) {
	var logs proctest.SyncBuffer
	m := NewMain()
	m.Stderr = &logs
	ctx := context.Background()
	core := startFakeCore(t)
	if err := m.ParseFlags(ctx, []string{"-admin-token=test-admin-token", "-server.addr=127.0.0.1:0", "-core.addrs=" + core.Addr()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	proctest.CheckServing(t, "http://"+m.Addr(), 10*time.Second, "test-admin-token")
	// GET /openapi.json serves the edge's part of the document.
	if r, want := proctest.Get(t, "http://"+m.Addr()+"/openapi.json"), mustDocument(t, openapi.Edge); r.StatusCode() != 200 || string(r.Body()) != string(want) {
		t.Fatalf("/openapi.json: %d, %d bytes, want the edge document (%d bytes)", r.StatusCode(), len(r.Body()), len(want))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _, err := fasthttp.GetTimeout(nil, "http://"+m.Addr()+"/healthz", time.Second); err == nil {
		t.Fatalf("still serving after Close: %d", s)
	}
}

// configs/edge.yaml lists every setting with its default.
func TestConfigFileMatchesDefaults(t *testing.T) {
	configtest.CheckDefaultsFile(t, "../configs/edge.yaml", DefaultConfig)
}

// TestConfigErrorsNameSettings: every invalid setting is reported by its
// YAML path (see configtest.CheckErrorsNameSettings).
func TestConfigErrorsNameSettings(t *testing.T) {
	configtest.CheckErrorsNameSettings(t, func() any {
		c := DefaultConfig()
		c.AdminToken = "test-admin-token"
		return &c
	}, "internal_token", "pages.render_all_on_load", "pages.prerender", "suggest.category_words", "forward.route_checkouts")
}

func mustDocument(t *testing.T, tier openapi.Tier) []byte {
	t.Helper()
	b, err := openapi.Document(tier)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
