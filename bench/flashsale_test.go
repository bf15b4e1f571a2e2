package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	f := func(line string, want time.Duration, ok bool) {
		t.Helper()
		got, err := parseStatCPU([]byte(line))
		if (err == nil) != ok || got != want {
			t.Fatalf("parseStatCPU(%q) = %v, %v; want %v (ok %v)", line, got, err, want, ok)
		}
	}
	// utime 250 and stime 50 ticks; the command name holds spaces and a ')'.
	f("4242 (my (core) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0", 3*time.Second, true)
	f("1 (init) S 0 1 1 0 -1 0 0 0 0 0 7 3", 100*time.Millisecond, true)
	f("1 (init) S 0 1", 0, false)
	f("no parenthesis", 0, false)
	f("1 (x) S 0 1 1 0 -1 0 0 0 0 0 seven 3", 0, false)
}

func TestReadCPUOfSelf(t *testing.T) {
	before, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	x := 0
	for deadline := time.Now().Add(60 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	after, err := ReadCPU(os.Getpid())
	if err != nil || after < before || after == 0 {
		t.Fatalf("CPU %v then %v (%v), spun %d", before, after, err, x)
	}
}

func TestCDNPurgeConfigValidate(t *testing.T) {
	f := func(mut func(*CDNPurgeConfig), field string) {
		t.Helper()
		c := DefaultCDNPurgeConfig()
		mut(&c)
		err := c.Validate()
		if field == "" {
			if err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Fatalf("Validate() = %v, want an error naming %s", err, field)
		}
	}
	f(func(*CDNPurgeConfig) {}, "")
	f(func(c *CDNPurgeConfig) { c.CoreEnv = []string{"SHOPEDGE_API_CDN_SETTLE=100ms"} }, "")
	f(func(c *CDNPurgeConfig) { c.Changes = 0 }, "changes")
	f(func(c *CDNPurgeConfig) { c.Edges = 0 }, "edges")
	f(func(c *CDNPurgeConfig) { c.Timeout = 0 }, "timeout")
	f(func(c *CDNPurgeConfig) { c.CoreEnv = []string{"settle=1s"} }, "core_env")
	f(func(c *CDNPurgeConfig) { c.CompareChanges = -1 }, "compare_changes")
}
