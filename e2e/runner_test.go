package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"shopedge/internal/proctest"
)

// runner is scripts/run-local.sh started by a test: its output, and the
// pids of the processes it started.
type runner struct {
	cmd  *exec.Cmd
	out  *proctest.SyncBuffer
	done chan error
}

func startRunner(t *testing.T) (*runner, string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("scripts/run-local.sh needs curl (Debian package curl; make test installs it)")
	}
	core, _ := binaries(t)
	edgeAddr, data := proctest.FreeAddr(t), t.TempDir()
	cmd := exec.Command("../scripts/run-local.sh")
	cmd.Env = proctest.CleanEnv("BIN="+filepath.Dir(core), "SHOPEDGE_DATA="+data, "SHOPEDGE_SKIP_SEED=1",
		"CORE_ADDR="+proctest.FreeAddr(t), "EDGE_ADDR="+edgeAddr, "TESTPAY_ADDR="+proctest.FreeAddr(t))
	// A process group of its own, as a terminal's foreground job has: the
	// test's Ctrl-C (interrupt) goes to the group, as a terminal sends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &runner{cmd: cmd, out: &proctest.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		for _, name := range []string{"edge", "core", "testpay"} {
			if pid := r.pid(name); pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = cmd.Process.Kill()
		logs, _ := filepath.Glob(filepath.Join(data, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			noCardNumbers(t, filepath.Base(l), string(b))
		}
		if t.Failed() {
			t.Logf("runner output:\n%s", r.out.String())
		}
	})
	r.waitFor(t, "Press Ctrl-C to stop.", 60*time.Second)
	return r, edgeAddr
}

func (r *runner) waitFor(t *testing.T, s string, within time.Duration) {
	t.Helper()
	eventually(t, within, func() string {
		if !strings.Contains(r.out.String(), s) {
			return "runner output lacks " + strconv.Quote(s)
		}
		return ""
	})
}

var startedLine = regexp.MustCompile(`started (\w+) \(pid (\d+)\)`)

func (r *runner) pid(name string) int {
	for _, m := range startedLine.FindAllStringSubmatch(r.out.String(), -1) {
		if m[1] == name {
			pid, _ := strconv.Atoi(m[2])
			return pid
		}
	}
	return 0
}

func (r *runner) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-r.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("runner still running after %s\n%s", within, procState(r.cmd.Process.Pid))
		return -1
	}
}

// stopWithin bounds how long the runner may take to stop everything: it
// stops edge, core and testpay one after the other, each allowed its
// shutdown_timeout (15 s in configs/*.yaml) to drain, on a machine that
// runs the other packages' tests at the same time.
const stopWithin = 60 * time.Second

// interrupt sends SIGINT to the runner's process group, as a terminal's
// Ctrl-C does (the processes it started have sessions of their own).
func (r *runner) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// procState describes a process that did not exit in time: its state,
// signal masks and where it sleeps, and the same for its children.
func procState(pid int) string {
	var b strings.Builder
	var walk func(pid, depth int)
	walk = func(pid, depth int) {
		if depth > 3 {
			return
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid))
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		fmt.Fprintf(&b, "%s pid %d %q wchan %s:", strings.Repeat("  ", depth), pid,
			strings.ReplaceAll(string(cmdline), "\x00", " "), wchan)
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "State:") || strings.HasPrefix(l, "Sig") {
				b.WriteString(" " + strings.Join(strings.Fields(l), " "))
			}
		}
		b.WriteString("\n")
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		for _, k := range strings.Fields(string(kids)) {
			if c, err := strconv.Atoi(k); err == nil {
				walk(c, depth+1)
			}
		}
	}
	walk(pid, 0)
	return b.String()
}

// TestSingleRunnerKeepsTheEdgeWhenTheCoreStops (issue 13): when the core
// exits, scripts/run-local.sh says so and the edge keeps serving (cached
// pages, 503 with Retry-After for writes); Ctrl-C then stops the edge and
// ends with 0. Before, the runner stopped the edge too and exited 1.
func TestSingleRunnerKeepsTheEdgeWhenTheCoreStops(t *testing.T) {
	r, edge := startRunner(t)
	if err := syscall.Kill(r.pid("core"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "core stopped", 10*time.Second)
	r.waitFor(t, "The edge keeps serving", time.Second)
	time.Sleep(300 * time.Millisecond)
	if st, _, _ := do(t, "GET", "http://"+edge+"/healthz", nil); st != 200 {
		t.Fatalf("edge /healthz after the core stopped: %d", st)
	}
	st, h, _ := do(t, "POST", "http://"+edge+"/v1/carts", nil)
	if st != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("a write with the core stopped: %d Retry-After %q", st, h.Get("Retry-After"))
	}
	r.interrupt(t)
	if code := r.exitCode(t, stopWithin); code != 0 {
		t.Fatalf("exit code %d after Ctrl-C, want 0", code)
	}
	if !strings.Contains(r.out.String(), "stopping edge") {
		t.Fatalf("the edge was not stopped:\n%s", r.out.String())
	}
}

// TestSingleRunnerExitsWhenTheEdgeDies: the edge is what the runner is
// for: when it dies the runner stops the core and exits 1; a Ctrl-C stops
// both, edge first, and exits 0.
func TestSingleRunnerExitsWhenTheEdgeDies(t *testing.T) {
	r, _ := startRunner(t)
	core := r.pid("core")
	if err := syscall.Kill(r.pid("edge"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := r.exitCode(t, stopWithin); code != 1 {
		t.Fatalf("exit code %d after the edge died, want 1", code)
	}
	if syscall.Kill(core, 0) == nil {
		t.Fatal("the core is still running")
	}

	r, _ = startRunner(t)
	r.interrupt(t)
	if code := r.exitCode(t, stopWithin); code != 0 {
		t.Fatalf("exit code %d after Ctrl-C, want 0", code)
	}
	out := r.out.String()
	if i, j := strings.Index(out, "stopping edge"), strings.Index(out, "stopping core"); i < 0 || j < i {
		t.Fatalf("not stopped edge first:\n%s", out)
	}
}
