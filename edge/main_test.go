package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
	"gopkg.in/yaml.v3"

	"shopedge/core/api"
	"shopedge/edge/follow/fakecore"
	"shopedge/internal/config"
)

// binPath is the edge binary built once per test run by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shopedge-edge-test")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "edge")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce struct {
	sync.Once
	err error
	out []byte
}

// mustBuild builds the real binary (go build -o <tmp>/edge .) once.
func mustBuild(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		buildOnce.out, buildOnce.err = cmd.CombinedOutput()
	})
	if buildOnce.err != nil {
		t.Fatalf("go build: %v\n%s", buildOnce.err, buildOnce.out)
	}
	return binPath
}

// cleanEnv is the test's environment without any SHOPEDGE_ variable.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHOPEDGE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// process is a running binary whose stderr (JSON logs) is collected.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	addr   chan string
	exited chan error
}

func (p *process) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startProcess runs the binary and waits for its "serving" log line.
func startProcess(t *testing.T, bin string, env []string, args ...string) (*process, string) {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), addr: make(chan string, 1), exited: make(chan error, 1)}
	p.cmd.Env = env
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Bytes()
			p.mu.Lock()
			p.stderr.Write(line)
			p.stderr.WriteByte('\n')
			p.mu.Unlock()
			var ev struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(line, &ev) == nil && ev.Message == "serving" && ev.Addr != "" {
				select {
				case p.addr <- ev.Addr:
				default:
				}
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	select {
	case addr := <-p.addr:
		return p, addr
	case err := <-p.exited:
		t.Fatalf("process exited before serving: %v\n%s", err, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("process not serving after 30s:\n%s", p.logs())
	}
	return nil, ""
}

// stop sends SIGTERM and returns the exit code, failing after 5 s.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(5 * time.Second):
		t.Fatalf("no exit within 5s of SIGTERM:\n%s", p.logs())
	}
	return -1
}

func get(t *testing.T, url string, hdr ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp := &fasthttp.Response{}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

var promLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:, ?[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (?:[-+]?[0-9.eE+-]+|NaN|[+-]Inf)$`)

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
	if s := get(t, base+"/healthz").StatusCode(); s != 200 {
		t.Fatalf("/healthz = %d", s)
	}
	time.Sleep(200 * time.Millisecond)
	if s := get(t, base+"/readyz").StatusCode(); s != 503 {
		t.Fatalf("/readyz without a core = %d, want 503", s)
	}
}

// checkServing runs the checks every tier's process must pass.
func checkServing(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for get(t, base+"/healthz").StatusCode() != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered 200")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for get(t, base+"/readyz").StatusCode() != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never answered 200")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp := get(t, base+"/metrics")
	lines := strings.Split(strings.TrimSpace(string(resp.Body())), "\n")
	if len(lines) < 10 {
		t.Fatalf("/metrics has %d lines", len(lines))
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if !promLine.MatchString(l) {
			t.Fatalf("/metrics line is not Prometheus text: %q", l)
		}
	}
	resp = get(t, base+"/no/such/route", "X-Request-ID", "trace-42")
	var body struct{ Error struct{ Code string } }
	if resp.StatusCode() != 404 || json.Unmarshal(resp.Body(), &body) != nil || body.Error.Code != "not_found" {
		t.Fatalf("unknown route: %d %s", resp.StatusCode(), resp.Body())
	}
	if id := string(resp.Header.Peek("X-Request-ID")); id != "trace-42" {
		t.Fatalf("X-Request-ID echo = %q", id)
	}
}

func TestSingleEdgeProcess(t *testing.T) {
	bin := mustBuild(t)
	core := startFakeCore(t)
	p, addr := startProcess(t, bin, cleanEnv("SHOPEDGE_ADMIN_TOKEN=secret-token", "SHOPEDGE_CORE_ADDRS="+core.Addr()),
		"-server.addr=127.0.0.1:0", "-pages.cache-bytes=33554432")
	checkServing(t, "http://"+addr)
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.logs())
	}
	logs := p.logs()
	for _, step := range []string{"start services", "start http server", "stop http server", "stop services"} {
		if !strings.Contains(logs, `"step":"`+step+`"`) || !strings.Contains(logs, "duration_ms") {
			t.Fatalf("step %q not logged with its duration:\n%s", step, logs)
		}
	}
}

func TestSingleEdgeInvalidConfig(t *testing.T) {
	bin := mustBuild(t)
	badFile := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(badFile, []byte("pages:\n  cache: 1GB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(env []string, field string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = cleanEnv(env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("args %q env %q: exit %v, want 2; stderr %s", args, env, err, stderr.String())
		}
		out := strings.TrimSpace(stderr.String())
		if strings.Count(out, "\n") != 0 || !strings.Contains(out, field) {
			t.Fatalf("stderr %q: want one line naming %s", out, field)
		}
	}
	token := []string{"SHOPEDGE_ADMIN_TOKEN=test-admin-token"}
	f(token, "-server.write-timeout", "-server.write-timeout=soon")
	f(token, "pages: cache_bytes", "-pages.cache-bytes=1048576")
	f(token, "-pages.cache-bytes", "-pages.cache-bytes=lots")
	f(append(token, "SHOPEDGE_CORE_ADDRS=nohostport"), "core.addrs")
	f(token, "core.addrs", "-core.addrs=")
	f(nil, "admin_token")
	f(token, "pages.cache", "-config", badFile)
}

// TestSingleEdgeInProcess runs the same wiring in the test process.
func TestSingleEdgeInProcess(t *testing.T) {
	var logs syncBuffer
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
	checkServing(t, "http://"+m.Addr())
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _, err := fasthttp.GetTimeout(nil, "http://"+m.Addr()+"/healthz", time.Second); err == nil {
		t.Fatalf("still serving after Close: %d", s)
	}
}

// configs/edge.yaml lists every setting with its default.
func TestConfigFileMatchesDefaults(t *testing.T) {
	data, err := os.ReadFile("../configs/edge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Strict yaml.v3 decoding into a zero Config: an unknown key fails,
	// and a missing key leaves a zero that differs from the default.
	var fromFile Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fromFile); err != nil {
		t.Fatalf("configs/edge.yaml: %v", err)
	}
	def := DefaultConfig()
	if !reflect.DeepEqual(fromFile, def) {
		t.Fatalf("configs/edge.yaml differs from DefaultConfig():\nfile    %+v\ndefault %+v", fromFile, def)
	}
	// Keys whose default is a zero value must be present too.
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		t.Fatal(err)
	}
	paths, err := config.Paths(&def)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if !hasPath(tree, p) {
			t.Fatalf("configs/edge.yaml lacks %s", p)
		}
	}
	// And the file loads through the real loader.
	c := DefaultConfig()
	if err := config.LoadFile(&c, "../configs/edge.yaml"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, def) {
		t.Fatalf("loading configs/edge.yaml changed the defaults: %+v", c)
	}
}

func hasPath(tree map[string]any, path string) bool {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := tree[head]
	if !ok {
		return false
	}
	if !nested {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && hasPath(sub, rest)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// process's loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
