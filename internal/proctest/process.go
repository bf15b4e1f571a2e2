package proctest

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// logTail is how much of a process's output a failed test prints.
const logTail = 8000

// Process is one running binary started by Start. Its stdout and stderr
// (JSON log lines) are kept in memory; when the test fails, their tail is
// logged at cleanup. A Process belongs to the test goroutine that started it.
type Process struct {
	tb   testing.TB
	name string
	bin  string
	env  []string
	args []string
	logs SyncBuffer

	cmd  *exec.Cmd
	addr chan string   // the "serving" address of the current run
	done chan struct{} // closed when the current run has exited
	err  error         // the current run's exit, set before done closes
}

// Start runs bin with exactly env and args; name labels its log in
// failures. The process is killed at tb's cleanup if still running.
func Start(tb testing.TB, name, bin string, env []string, args ...string) *Process {
	tb.Helper()
	p := &Process{tb: tb, name: name, bin: bin, env: env, args: args}
	p.start()
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			out := p.Logs()
			if len(out) > logTail {
				out = out[len(out)-logTail:]
			}
			tb.Logf("--- %s log (tail) ---\n%s", name, out)
		}
	})
	return p
}

// StartServing is Start followed by WaitServing(30 s): it returns the
// process and the address it serves on.
func StartServing(tb testing.TB, name, bin string, env []string, args ...string) (*Process, string) {
	tb.Helper()
	p := Start(tb, name, bin, env, args...)
	return p, p.WaitServing(30 * time.Second)
}

func (p *Process) start() {
	p.tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		p.tb.Fatal(err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		p.tb.Fatalf("cannot start %s: %v", p.name, err)
	}
	addr, done := make(chan string, 1), make(chan struct{})
	p.cmd, p.addr, p.done = cmd, addr, done
	go func() {
		p.collect(r, addr)
		r.Close()
		p.err = cmd.Wait()
		close(done)
	}()
}

// collect copies the output into p.logs until EOF and sends the address
// of the first "serving" line on addr.
func (p *Process) collect(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		p.logs.WriteLine(line)
		var ev struct {
			Message string `json:"message"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Message == "serving" && ev.Addr != "" {
			select {
			case addr <- ev.Addr:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, r) // after an overlong line: never block the process
}

// WaitServing waits for the current run's "serving" log line and returns
// its address; it fails the test if the process exits first or within
// passes.
func (p *Process) WaitServing(within time.Duration) string {
	p.tb.Helper()
	select {
	case addr := <-p.addr:
		return addr
	case <-p.done:
		select {
		case addr := <-p.addr:
			return addr
		default:
		}
		p.tb.Fatalf("%s exited before serving: %v\n%s", p.name, p.err, p.Logs())
	case <-time.After(within):
		p.tb.Fatalf("%s not serving after %v:\n%s", p.name, within, p.Logs())
	}
	return ""
}

// Restart starts the binary again with the same environment and
// arguments, after it has exited (Kill or Stop). Its output is appended
// to the same log.
func (p *Process) Restart() {
	p.tb.Helper()
	select {
	case <-p.done:
	default:
		p.tb.Fatalf("BUG: restart of %s while it runs", p.name)
	}
	p.start()
}

// Kill sends SIGKILL and waits for the process to go; it does nothing
// after the process has exited.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Stop sends SIGTERM and returns the exit code (-1 for death by a
// signal). It fails the test, killing the process, if it has not exited
// within the given time.
func (p *Process) Stop(within time.Duration) int {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.tb.Fatalf("cannot signal %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		return exitCode(p.tb, p.err)
	case <-time.After(within):
		p.Kill()
		p.tb.Fatalf("%s did not exit within %v of SIGTERM:\n%s", p.name, within, p.Logs())
		return -1
	}
}

// exitCode is the code of a finished exec.Cmd's Wait error.
func exitCode(tb testing.TB, err error) int {
	tb.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return 0
}

// Logs returns the process's output so far, across restarts.
func (p *Process) Logs() string { return p.logs.String() }
