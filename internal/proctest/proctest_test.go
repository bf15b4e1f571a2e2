package proctest

import (
	"os"
	"strings"
	"testing"
	"time"
)

var fake = NewBuilder("./testdata/fakeproc")

func TestMain(m *testing.M) {
	code := m.Run()
	fake.Remove()
	os.Exit(code)
}

func TestProcessServesAndStops(t *testing.T) {
	bin := fake.Path(t, "fakeproc")
	p, addr := StartServing(t, "fake", bin, CleanEnv("FAKE_EXIT_CODE=3"))
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("serving address %q", addr)
	}
	CheckServing(t, "http://"+addr, 0)
	if code := p.Stop(5 * time.Second); code != 3 {
		t.Fatalf("exit code %d, want 3", code)
	}
	if !strings.Contains(p.Logs(), `"message":"serving"`) {
		t.Fatalf("logs %q", p.Logs())
	}
	// A restart is a new run, on a new address, appended to the same log.
	p.Restart()
	addr2 := p.WaitServing(30 * time.Second)
	CheckServing(t, "http://"+addr2, 0)
	p.Kill()
	if code := p.Stop(time.Second); code != -1 {
		t.Fatalf("exit code after SIGKILL %d, want -1", code)
	}
	if n := strings.Count(p.Logs(), `"message":"serving"`); n != 2 {
		t.Fatalf("%d serving lines across two runs, want 2", n)
	}
}

func TestCleanEnvDropsShopedgeVariables(t *testing.T) {
	t.Setenv("SHOPEDGE_ADMIN_TOKEN", "from-the-shell")
	env := CleanEnv("SHOPEDGE_LOG_LEVEL=warn")
	for _, kv := range env {
		if strings.HasPrefix(kv, "SHOPEDGE_ADMIN_TOKEN=") {
			t.Fatalf("CleanEnv kept %s", kv)
		}
	}
	if env[len(env)-1] != "SHOPEDGE_LOG_LEVEL=warn" {
		t.Fatalf("extra not last: %q", env[len(env)-1])
	}
}

func TestWantConfigError(t *testing.T) {
	bin := fake.Path(t, "fakeproc")
	WantConfigError(t, bin, nil, "server.addr", "-bad")
	code, stderr := Run(t, bin, CleanEnv(), 20*time.Second, "-bad")
	if code != 2 || !strings.HasPrefix(stderr, "fakeproc: invalid configuration") {
		t.Fatalf("Run: %d %q", code, stderr)
	}
}

func TestCheckMetricsRejectsNonPrometheusLines(t *testing.T) {
	good := "# HELP x\n" + strings.Repeat("a_total 1\n", 5) + `b{le="0.5",x="y"} 2.5e-3` + "\n" + strings.Repeat("c NaN\n", 4)
	f := func(body string, wantFail bool) {
		t.Helper()
		if err := metricsError([]byte(body)); (err != nil) != wantFail {
			t.Fatalf("body %q: error %v, want failure %v", body, err, wantFail)
		}
	}
	f(good, false)
	f(good+"bad line here\n", true)
	f("a 1\nb 2\n", true) // too few lines
}

// Stop gives up on a process that ignores SIGTERM and kills it.
func TestStopFailsOnAHungProcess(t *testing.T) {
	bin := fake.Path(t, "fakeproc")
	tb := &recordTB{TB: t}
	var p *Process
	done := make(chan struct{})
	go func() {
		defer close(done)
		p, _ = StartServing(tb, "hung", bin, CleanEnv(), "-hang")
		p.Stop(300 * time.Millisecond)
	}()
	<-done
	if !strings.Contains(tb.msg, "did not exit within 300ms of SIGTERM") {
		t.Fatalf("failure %q", tb.msg)
	}
	select {
	case <-p.done:
	default:
		t.Fatal("the hung process still runs after Stop gave up")
	}
}
