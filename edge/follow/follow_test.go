package follow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/edge/follow/fakecore"
	"shopedge/edge/pages"
)

// recorder is a Sink that records what it receives.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) BeginLoad()          { r.add("begin") }
func (r *recorder) Load(p *api.Product) { r.add("load " + p.ID) }
func (r *recorder) EndLoad(seq uint64)  { r.add(fmt.Sprintf("end %d", seq)) }
func (r *recorder) Apply(ev *api.Event) {
	id := ev.ID
	if ev.Product != nil {
		id = ev.Product.ID
	}
	r.add(fmt.Sprintf("%s %d %s%s", ev.Type, ev.Seq, id, strings.Join(ev.Keys, ",")))
}

func (r *recorder) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.calls, "|")
}

func testConfig() Config {
	return Config{Wait: 500 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, DisconnectAfter: 200 * time.Millisecond}
}

func newClient(t *testing.T, addr string) *coreclient.Client {
	t.Helper()
	cfg := coreclient.DefaultClientConfig()
	cfg.Addrs = []string{addr}
	cfg.Timeout = time.Second
	c, err := coreclient.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run starts f and stops it when the test ends.
func run(t *testing.T, f *Follower) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func prod(id string, v int) *api.Product {
	return &api.Product{ID: id, Slug: "p-" + id, Name: fmt.Sprintf("Product %s v%d", id, v), Brand: "Acme",
		SKUs: []api.SKU{{SKU: id, Availability: api.InStock}}}
}

func startCore(t *testing.T) *fakecore.Core {
	t.Helper()
	c := fakecore.New()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func TestFollowerLoadsAndApplies(t *testing.T) {
	core := startCore(t)
	core.Upsert(prod("a", 1))
	core.Upsert(prod("b", 1))
	rec := &recorder{}
	ps, err := pages.New(pages.Config{CacheBytes: 32 << 20, Workers: 2, GzipLevel: 1}, zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(newClient(t, core.Addr()), []Sink{rec, pages.NewLoader(ps)}, testConfig(), zerolog.Nop(), metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	if f.Ready() {
		t.Fatal("ready before the first load")
	}
	run(t, f)
	eventually(t, "ready", f.Ready)
	if got := rec.log(); got != "begin|load a|load b|end 2" {
		t.Fatalf("load calls %q", got)
	}
	core.Upsert(prod("a", 2))
	core.Delete("b")
	core.Purge("brand-acme")
	core.PurgeAll()
	eventually(t, "seq 6", func() bool { return f.Seq() == 6 })
	want := "begin|load a|load b|end 2|upsert 3 a|delete 4 b|purge 5 brand-acme|purge_all 6 "
	if got := rec.log(); got != want {
		t.Fatalf("calls\n got %q\nwant %q", got, want)
	}
	if ps.Len() != 1 || ps.Seq() != 6 {
		t.Fatalf("page store: %d products at seq %d", ps.Len(), ps.Seq())
	}
	if !f.Connected() || f.Loads() != 1 {
		t.Fatalf("connected %v loads %d", f.Connected(), f.Loads())
	}
}

func TestFollowerResumesAfterRestart(t *testing.T) {
	core := startCore(t)
	core.Upsert(prod("a", 1))
	rec := &recorder{}
	f, _ := New(newClient(t, core.Addr()), []Sink{rec}, testConfig(), zerolog.Nop(), metrics.NewSet())
	run(t, f)
	eventually(t, "ready", f.Ready)

	core.Stop()
	eventually(t, "disconnected", func() bool { return !f.Connected() })
	if !f.Ready() {
		t.Fatal("an outage must not clear readiness")
	}
	core.Upsert(prod("a", 2)) // written while the edge cannot see it
	if err := core.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "caught up", func() bool { return f.Seq() == 2 })
	eventually(t, "connected", f.Connected)
	if got := rec.log(); got != "begin|load a|end 1|upsert 2 a" {
		t.Fatalf("calls %q", got)
	}
	if n := core.Calls("snapshot"); n != 1 || f.Loads() != 1 {
		t.Fatalf("snapshot loaded %d times (%d loads); a restart must resume from the seq", n, f.Loads())
	}
}

func TestFollowerReloadsOnGone(t *testing.T) {
	core := startCore(t)
	core.Upsert(prod("a", 1))
	rec := &recorder{}
	f, _ := New(newClient(t, core.Addr()), []Sink{rec}, testConfig(), zerolog.Nop(), metrics.NewSet())
	run(t, f)
	eventually(t, "ready", f.Ready)
	core.Stop()
	core.Upsert(prod("b", 1))
	core.Delete("a")
	core.Truncate() // the edge's seq 1 is now older than the log
	if err := core.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reloaded", func() bool { return f.Loads() == 2 })
	if got := rec.log(); got != "begin|load a|end 1|begin|load b|end 3" {
		t.Fatalf("calls %q", got)
	}
	if f.Seq() != 3 {
		t.Fatalf("seq %d", f.Seq())
	}
	core.Upsert(prod("c", 1))
	eventually(t, "follows after reload", func() bool { return f.Seq() == 4 })
}

// scripted is a Feed answering from a fixed script, for ordering cases the
// fake core never produces.
type scripted struct {
	mu      sync.Mutex
	answers []*api.Changes
	afters  []uint64
}

func (s *scripted) Snapshot(ctx context.Context, fn func(*api.Product, []byte) error) (uint64, error) {
	p := prod("a", 1)
	line, _ := json.Marshal(p)
	return 10, fn(p, line)
}

func (s *scripted) Changes(ctx context.Context, after uint64, wait time.Duration) (*api.Changes, error) {
	s.mu.Lock()
	s.afters = append(s.afters, after)
	if len(s.answers) == 0 {
		s.mu.Unlock()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	s.mu.Unlock()
	if a == nil {
		return nil, errors.New("connection refused")
	}
	return a, nil
}

func TestFollowerIgnoresStaleEvents(t *testing.T) {
	feed := &scripted{answers: []*api.Changes{
		{Events: []api.Event{{Seq: 9, Type: api.EventDelete, ID: "old"}, {Seq: 10, Type: api.EventDelete, ID: "old"}, {Seq: 11, Type: api.EventDelete, ID: "x"}}, Last: 11},
		nil, // one failed poll: retried from the same seq
		{Events: []api.Event{{Seq: 11, Type: api.EventDelete, ID: "x"}, {Seq: 13, Type: api.EventPurgeAll}}, Last: 14},
		{Events: nil, Last: 20},
	}}
	rec := &recorder{}
	f, _ := New(feed, []Sink{rec}, testConfig(), zerolog.Nop(), metrics.NewSet())
	run(t, f)
	eventually(t, "seq 20", func() bool { return f.Seq() == 20 })
	if got := rec.log(); got != "begin|load a|end 10|delete 11 x|purge_all 13 " {
		t.Fatalf("calls %q", got)
	}
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if got := fmt.Sprint(feed.afters[:4]); got != "[10 11 11 13]" {
		t.Fatalf("polled after %s", got)
	}
}

func TestBackoffBounds(t *testing.T) {
	f := &Follower{cfg: Config{BackoffMin: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond}}
	for attempt := 0; attempt < 70; attempt++ {
		d := f.backoff(attempt)
		hi := min(10*time.Millisecond<<min(attempt, 30), 80*time.Millisecond)
		if attempt > 30 {
			hi = 80 * time.Millisecond
		}
		if d <= 0 || d > hi {
			t.Fatalf("attempt %d: backoff %s outside (0, %s]", attempt, d, hi)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.BackoffMax = time.Millisecond
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "backoff_max:") {
		t.Fatalf("got %v", err)
	}
}

// TestStaleClearsAtOnceOnReconnect (issue 13): after an outage with no
// new events, the first poll that reaches the core again answers at once
// (wait 0), so Connected turns true within a second, not after a 30 s
// long poll.
func TestStaleClearsAtOnceOnReconnect(t *testing.T) {
	core := startCore(t)
	core.Upsert(prod("a", 1))
	cfg := testConfig()
	cfg.Wait = 30 * time.Second
	cfg.BackoffMin, cfg.BackoffMax, cfg.DisconnectAfter = 20*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	f, _ := New(newClient(t, core.Addr()), []Sink{&recorder{}}, cfg, zerolog.Nop(), metrics.NewSet())
	run(t, f)
	eventually(t, "ready", f.Ready)
	core.Stop()
	eventually(t, "disconnected", func() bool { return !f.Connected() })
	if err := core.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, "connected", f.Connected)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("connected %s after the core came back", d)
	}
	// Once connected, polls are long polls again.
	polls := core.Calls("changes")
	time.Sleep(300 * time.Millisecond)
	if n := core.Calls("changes") - polls; n > 1 {
		t.Fatalf("%d polls in 300ms while connected: not long polls", n)
	}
}

// finisher is a recorder whose FinishLoad waits until every finisher of
// its group has started its own (or 2 s pass), then records it.
type finisher struct {
	recorder
	name    string
	started *sync.WaitGroup
	shared  *recorder
}

func (f *finisher) FinishLoad(seq uint64) {
	f.started.Done()
	ok := make(chan struct{})
	go func() { f.started.Wait(); close(ok) }()
	select {
	case <-ok:
		f.shared.add(fmt.Sprintf("finish %s %d together", f.name, seq))
	case <-time.After(2 * time.Second):
		f.shared.add(fmt.Sprintf("finish %s %d alone", f.name, seq))
	}
}

func (f *finisher) EndLoad(seq uint64) { f.shared.add(fmt.Sprintf("end %s %d", f.name, seq)) }

// TestFollowerFinishesLoadsConcurrently proves that the FinishLoad of
// two Finisher sinks run at the same time (each waits for the other to
// start: run one after the other, both record "alone"), and that every
// EndLoad comes after all of them, in sink order, with a plain sink's
// EndLoad between. It does not prove the sinks' own FinishLoad are safe
// to run together (their packages' tests and -race do).
func TestFollowerFinishesLoadsConcurrently(t *testing.T) {
	core := startCore(t)
	core.Upsert(prod("a", 1))
	shared := &recorder{}
	var started sync.WaitGroup
	started.Add(2)
	a := &finisher{name: "a", started: &started, shared: shared}
	b := &finisher{name: "b", started: &started, shared: shared}
	plain := &struct{ recorder }{}
	f, _ := New(newClient(t, core.Addr()), []Sink{a, plain, b}, testConfig(), zerolog.Nop(), metrics.NewSet())
	run(t, f)
	eventually(t, "ready", f.Ready)
	got := shared.log()
	want1 := "finish a 1 together|finish b 1 together|end a 1|end b 1"
	want2 := "finish b 1 together|finish a 1 together|end a 1|end b 1"
	if got != want1 && got != want2 {
		t.Fatalf("calls %q, want %q (or a and b finished the other way round)", got, want1)
	}
	if got := plain.log(); got != "begin|load a|end 1" {
		t.Fatalf("plain sink calls %q", got)
	}
}
