package configtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type server struct {
	Addr    string        `yaml:"addr"`
	Timeout time.Duration `yaml:"timeout"`
	NoSync  bool          `yaml:"no_sync"`
}

type testConfig struct {
	Server server   `yaml:"server"`
	Addrs  []string `yaml:"addrs"`
}

func defaults() testConfig {
	return testConfig{Server: server{Addr: "127.0.0.1:80", Timeout: time.Second}, Addrs: []string{"a:1"}}
}

// check runs checkDefaultsFile on body and returns its failure, "" if none.
func check(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tier.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkDefaultsFile(path, defaults); err != nil {
		return err.Error()
	}
	return ""
}

func TestCheckDefaultsFile(t *testing.T) {
	const good = "server:\n  addr: 127.0.0.1:80\n  timeout: 1s\n  no_sync: false\naddrs: [\"a:1\"]\n"
	if msg := check(t, good); msg != "" {
		t.Fatalf("a complete file failed: %s", msg)
	}
	f := func(body, want string) {
		t.Helper()
		if msg := check(t, body); !strings.Contains(msg, want) {
			t.Fatalf("file %q: failure %q, want one containing %q", body, msg, want)
		}
	}
	f(strings.Replace(good, "  no_sync: false\n", "", 1), "lacks server.no_sync")
	f(strings.Replace(good, "timeout: 1s", "timeout: 2s", 1), "differs from the defaults")
	f(good+"extra: 1\n", "extra")
	f(strings.Replace(good, "addr:", "adr:", 1), "adr")
}
