package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type testServer struct {
	Addr        string        `yaml:"addr"`
	ReadTimeout time.Duration `yaml:"read_timeout"`
	MaxBody     ByteSize      `yaml:"max_body"`
}

type testStore struct {
	Backend     string   `yaml:"backend"`
	PDEndpoints []string `yaml:"pd_endpoints"`
	NoSync      bool     `yaml:"no_sync"`
	Retries     int      `yaml:"retries"`
	Seq         uint64   `yaml:"seq"`
	Big         int64    `yaml:"big"`
	Ratio       float64  `yaml:"ratio"`
}

type testConfig struct {
	Server     testServer `yaml:"server"`
	Store      testStore  `yaml:"store"`
	AdminToken string     `yaml:"admin_token"`
	Log        testLog    `yaml:"log"`
	Later      struct{}   `yaml:"later"`
	Skipped    string     `yaml:"-"`
	//lint:ignore U1000 the loader must skip unexported fields; this one proves it
	unexported int
}

func defaultTestConfig() *testConfig {
	return &testConfig{
		Server: testServer{Addr: "127.0.0.1:9090", ReadTimeout: 5 * time.Second, MaxBody: 1 << 20},
		Store:  testStore{Backend: "embedded", PDEndpoints: []string{}},
		Log:    testLog{Level: "info"},
	}
}

func (c *testConfig) Validate() error {
	if c.AdminToken == "" {
		return Invalid("admin_token", "required")
	}
	return nil
}

// testLog is a section whose Validate names its setting relative to
// itself: Validate (through Load) names it log.level.
type testLog struct {
	Level string `yaml:"level"`
}

func (c testLog) Validate() error {
	if c.Level != "info" && c.Level != "debug" {
		return Invalid("level", "unknown level %q", c.Level)
	}
	return nil
}

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, args []string, lookup func(string) (string, bool)) (*testConfig, error) {
	t.Helper()
	c := defaultTestConfig()
	err := Load(c, args, Options{Name: "test", LookupEnv: lookup, Usage: io.Discard})
	return c, err
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "server:\n  addr: file:1\n  read_timeout: 2s\nstore:\n  backend: tikv\n  pd_endpoints: [a:1, b:2]\nadmin_token: fromfile\n")

	// defaults only
	c, err := load(t, []string{"-admin-token=x"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "127.0.0.1:9090" || c.Server.ReadTimeout != 5*time.Second || c.Store.Backend != "embedded" {
		t.Fatalf("defaults lost: %+v", c)
	}

	// file over defaults
	c, err = load(t, []string{"-config", file}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "file:1" || c.Server.ReadTimeout != 2*time.Second || c.AdminToken != "fromfile" {
		t.Fatalf("file not applied: %+v", c)
	}
	if !reflect.DeepEqual(c.Store.PDEndpoints, []string{"a:1", "b:2"}) {
		t.Fatalf("pd_endpoints = %q", c.Store.PDEndpoints)
	}
	if c.Server.MaxBody != 1<<20 {
		t.Fatalf("absent key changed: %v", c.Server.MaxBody)
	}

	// env over file, and the file named by SHOPEDGE_CONFIG
	c, err = load(t, nil, env("SHOPEDGE_CONFIG", file, "SHOPEDGE_SERVER_ADDR", "env:2",
		"SHOPEDGE_STORE_PD_ENDPOINTS", "x:1, y:2,", "SHOPEDGE_ADMIN_TOKEN", "fromenv"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "env:2" || c.AdminToken != "fromenv" || c.Store.Backend != "tikv" {
		t.Fatalf("env not applied over file: %+v", c)
	}
	if !reflect.DeepEqual(c.Store.PDEndpoints, []string{"x:1", "y:2"}) {
		t.Fatalf("pd_endpoints = %q", c.Store.PDEndpoints)
	}

	// flags over env, whatever their position relative to -config
	c, err = load(t, []string{"-server.addr=flag:3", "-config", file, "-store.no-sync", "-store.pd-endpoints", "z:9"},
		env("SHOPEDGE_SERVER_ADDR", "env:2", "SHOPEDGE_STORE_NO_SYNC", "false"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "flag:3" || !c.Store.NoSync || !reflect.DeepEqual(c.Store.PDEndpoints, []string{"z:9"}) {
		t.Fatalf("flags not applied last: %+v", c)
	}
}

func TestLoadAllKinds(t *testing.T) {
	c, err := load(t, []string{
		"-admin-token=t", "-store.retries=-3", "-store.seq=18446744073709551615", "-store.big=-9000000000",
		"-store.ratio=0.25", "-server.max-body=64MB", "-server.read-timeout=250ms", "-log.level=debug",
	}, env())
	if err != nil {
		t.Fatal(err)
	}
	want := defaultTestConfig()
	want.AdminToken = "t"
	want.Store.Retries, want.Store.Seq, want.Store.Big, want.Store.Ratio = -3, 1<<64-1, -9000000000, 0.25
	want.Server.MaxBody, want.Server.ReadTimeout = 64<<20, 250*time.Millisecond
	want.Log.Level = "debug"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadErrorsNameTheField(t *testing.T) {
	f := func(args []string, lookup func(string) (string, bool), wantSub ...string) {
		t.Helper()
		_, err := load(t, args, lookup)
		if err == nil {
			t.Fatalf("args %q: no error", args)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error spans lines: %q", err)
		}
		for _, s := range wantSub {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("args %q: error %q does not mention %q", args, err, s)
			}
		}
	}
	f([]string{"-server.read-timeout=abc"}, env(), "-server.read-timeout", "abc")
	f([]string{"-store.retries=many"}, env(), "store.retries", "many")
	f([]string{"-nope=1"}, env(), "-nope")
	f([]string{"extra"}, env(), "extra")
	f(nil, env("SHOPEDGE_SERVER_MAX_BODY", "lots"), "server.max_body", "SHOPEDGE_SERVER_MAX_BODY")
	f(nil, env("SHOPEDGE_STORE_NO_SYNC", "maybe"), "store.no_sync")
	f(nil, env(), "admin_token")                                                        // Validate runs
	f([]string{"-admin-token=x", "-log.level=loud"}, env(), "log.level: unknown level") // nested Validate, prefixed
	f([]string{"-config", writeFile(t, "server:\n  adr: x\n")}, env(), "server.adr", "line 2")
	f([]string{"-config", writeFile(t, "store:\n  retries: ten\n")}, env(), "store.retries", "line 2")
	f([]string{"-config", writeFile(t, "server: [1]\n")}, env(), "server", "mapping")
	f([]string{"-config", writeFile(t, "server:\n  addr: [a]\n")}, env(), "server.addr", "list")
	f([]string{"-config", writeFile(t, "later:\n  x: 1\n")}, env(), "later.x")
	f([]string{"-config", writeFile(t, "a: [\n")}, env(), "YAML")
	f([]string{"-config", filepath.Join(t.TempDir(), "missing.yaml")}, env(), "cannot read config file")
}

// The flag's value syntax is checked when the flag is parsed, so an error
// in a flag is reported even when a later source would have been fine.
func TestLoadFlagSyntaxError(t *testing.T) {
	_, err := load(t, []string{"-server.read-timeout=5"}, env("SHOPEDGE_ADMIN_TOKEN", "x"))
	if err == nil || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadHelp(t *testing.T) {
	var sb strings.Builder
	c := defaultTestConfig()
	err := Load(c, []string{"-h"}, Options{Name: "x", LookupEnv: env(), Usage: &sb})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"-server.addr", "127.0.0.1:9090", "-store.pd-endpoints", "-log.level", "-config", "1MB"} {
		if !strings.Contains(sb.String(), s) {
			t.Fatalf("usage lacks %q:\n%s", s, sb.String())
		}
	}
}

func TestDecodeEmptyAndNull(t *testing.T) {
	c := defaultTestConfig()
	if err := Decode(c, nil); err != nil {
		t.Fatal(err)
	}
	if err := Decode(c, []byte("# nothing\n")); err != nil {
		t.Fatal(err)
	}
	if err := Decode(c, []byte("later:\nstore:\n  pd_endpoints:\n")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, defaultTestConfig()) {
		t.Fatalf("empty documents changed the config: %+v", c)
	}
	if err := Decode(c, []byte("admin_token:\n")); err == nil || !strings.Contains(err.Error(), "admin_token") {
		t.Fatalf("null scalar: err = %v", err)
	}
}

func TestPaths(t *testing.T) {
	got, err := Paths(defaultTestConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"admin_token", "log.level", "server.addr", "server.max_body", "server.read_timeout",
		"store.backend", "store.big", "store.no_sync", "store.pd_endpoints", "store.ratio", "store.retries", "store.seq"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if _, err := Fields(testConfig{}); err == nil {
		t.Fatal("non-pointer accepted")
	}
	type bad struct {
		M map[string]int `yaml:"m"`
	}
	if _, err := Fields(&bad{}); err == nil || !strings.Contains(err.Error(), "m:") {
		t.Fatalf("unsupported type: err = %v", err)
	}
}

func TestByteSize(t *testing.T) {
	f := func(in string, want ByteSize) {
		t.Helper()
		got, err := ParseByteSize(in)
		if err != nil {
			t.Fatalf("ParseByteSize(%q): %v", in, err)
		}
		if got != want {
			t.Fatalf("ParseByteSize(%q) = %d, want %d", in, got, want)
		}
		back, err := ParseByteSize(got.String())
		if err != nil || back != got {
			t.Fatalf("round trip of %q via %q = %d, %v", in, got.String(), back, err)
		}
	}
	f("0", 0)
	f("512", 512)
	f("512B", 512)
	f("64KB", 64<<10)
	f("64kb", 64<<10)
	f("64MB", 64<<20)
	f(" 64 MiB ", 64<<20)
	f("1G", 1<<30)
	f("3GB", 3<<30)
	f("1536", 1536)

	bad := func(in string) {
		t.Helper()
		if _, err := ParseByteSize(in); err == nil {
			t.Fatalf("ParseByteSize(%q) accepted", in)
		}
	}
	bad("")
	bad("MB")
	bad("-1MB")
	bad("1.5MB")
	bad("1TB")
	bad("99999999999GB")

	if s := ByteSize(1536).String(); s != "1536" {
		t.Fatalf("String = %q", s)
	}
	if s := ByteSize(3 << 30).String(); s != "3GB" {
		t.Fatalf("String = %q", s)
	}
}
