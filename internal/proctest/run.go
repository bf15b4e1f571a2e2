package proctest

import (
	"bytes"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Run runs bin with env and args to its end and returns its exit code and
// stderr. It fails the test, killing the process, if it is still running
// after within.
func Run(tb testing.TB, bin string, env []string, within time.Duration, args ...string) (code int, stderr string) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stderr = &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitCode(tb, err), out.String()
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-done
		tb.Fatalf("args %q: still running after %s; stderr %s", args, time.Since(start), out.String())
		return -1, ""
	}
}

// WantConfigError runs bin with CleanEnv(env...) and args and fails the
// test unless it exits with code 2 and one line on stderr naming field.
func WantConfigError(tb testing.TB, bin string, env []string, field string, args ...string) {
	tb.Helper()
	code, stderr := Run(tb, bin, CleanEnv(env...), 20*time.Second, args...)
	if code != 2 {
		tb.Fatalf("args %q env %q: exit %d, want 2; stderr %s", args, env, code, stderr)
	}
	out := strings.TrimSpace(stderr)
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, field) {
		tb.Fatalf("stderr %q: want one line naming %s", out, field)
	}
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a process that must keep its address across restarts.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
