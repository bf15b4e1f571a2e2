// Package follow keeps an edge's local state in step with the core: it
// loads the catalog snapshot, then long-polls the change feed from the
// snapshot's sequence, handing products and events to its sinks (the page
// store, the autocomplete index). It reconnects with backoff, reloads the
// snapshot when the core answers 410, and reports readiness and whether
// the feed is connected (the edge serves stale pages while it is not).
package follow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
	"shopedge/internal/config"
	"shopedge/internal/retry"
)

// Sink receives the catalog as the edge follows the core's change feed.
//
// The follower calls a sink from one goroutine at a time (a Finisher's
// FinishLoad runs on a goroutine of its own, beside the other sinks').
// BeginLoad may be called
// again without EndLoad when a snapshot download fails; the sink then
// abandons the partial load.
type Sink interface {
	BeginLoad()          // a snapshot load starts; keep serving the old state until EndLoad
	Load(p *api.Product) // one snapshot product; p must not be retained after Load returns unless copied
	EndLoad(seq uint64)  // the snapshot is complete and consistent with seq
	Apply(ev *api.Event) // one change event, in seq order, after EndLoad
}

// LineSink is a Sink that also takes each snapshot product's NDJSON line
// (the product's canonical JSON with availability, as the core rendered
// it). The follower calls LoadLine instead of Load on sinks that have it;
// line, like p, must not be retained after LoadLine returns unless copied.
type LineSink interface {
	Sink
	LoadLine(p *api.Product, line []byte)
}

// Finisher is a Sink whose EndLoad has slow work that publishes nothing
// (an index build). Once the snapshot has streamed, the follower runs
// FinishLoad(seq) of every such sink concurrently, then calls every
// sink's EndLoad(seq) in order: one sink's build no longer waits for
// another's, and a sink's EndLoad still comes after the EndLoad of the
// sinks before it (the storefront's reads the search index).
type Finisher interface {
	Sink
	FinishLoad(seq uint64)
}

// SummarySink is a Sink that needs only product summaries during a
// snapshot load: a product decoded without its description and attributes
// (the product's and its SKUs'; a LineSink still gets the whole NDJSON
// line). LoadsSummaries reports whether that is enough now; the follower
// decodes summaries only when it is for every sink.
type SummarySink interface {
	Sink
	LoadsSummaries() bool
}

// SummaryFeed is a Feed that can stream a snapshot as summaries (see
// SummarySink); *coreclient.Client implements it.
type SummaryFeed interface {
	SnapshotSummaries(ctx context.Context, fn func(p *api.Product, line []byte) error) (uint64, error)
}

// Feed is the part of the core's API the follower uses; *coreclient.Client
// implements it.
type Feed interface {
	Snapshot(ctx context.Context, fn func(p *api.Product, line []byte) error) (uint64, error)
	Changes(ctx context.Context, after uint64, wait time.Duration) (*api.Changes, error)
}

// Config configures a Follower.
type Config struct {
	// Wait is how long one changes poll waits for events.
	Wait time.Duration `yaml:"wait"`
	// BackoffMin and BackoffMax bound the exponential, jittered delay
	// (internal/retry: the first delay is up to BackoffMin, doubling to
	// BackoffMax)
	// between failed attempts.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// DisconnectAfter is how long requests to the core must keep failing
	// before Connected reports false (and pages are served as stale).
	DisconnectAfter time.Duration `yaml:"disconnect_after"`
}

// DefaultConfig returns 30 s polls, 100 ms..10 s backoff and a 5 s
// disconnect threshold.
func DefaultConfig() Config {
	return Config{Wait: 30 * time.Second, BackoffMin: 100 * time.Millisecond, BackoffMax: 10 * time.Second, DisconnectAfter: 5 * time.Second}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Wait <= 0:
		return config.Invalid("wait", "must be > 0, got %s", c.Wait)
	case c.BackoffMin <= 0:
		return config.Invalid("backoff_min", "must be > 0, got %s", c.BackoffMin)
	case c.BackoffMax < c.BackoffMin:
		return config.Invalid("backoff_max", "must be >= backoff_min, got %s", c.BackoffMax)
	case c.DisconnectAfter <= 0:
		return config.Invalid("disconnect_after", "must be > 0, got %s", c.DisconnectAfter)
	}
	return nil
}

// Follower follows the core's change feed into its sinks. Run drives it;
// the state accessors are safe to call from any goroutine.
type Follower struct {
	feed  Feed
	sinks []Sink
	cfg   Config
	log   zerolog.Logger

	seq       atomic.Uint64
	ready     atomic.Bool
	failSince atomic.Int64 // unix nanos of the first failure of the current streak; 0 when healthy
	lastOK    atomic.Int64 // unix nanos of the last answer from the core
	loads     atomic.Int64

	events, errs, loadsTotal *metrics.Counter
	loadSeconds              *metrics.FloatCounter
}

// New returns a Follower feeding sinks from feed. Its metrics are
// registered on ms.
func New(feed Feed, sinks []Sink, cfg Config, log zerolog.Logger, ms *metrics.Set) (*Follower, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create follower: %w", err)
	}
	f := &Follower{
		feed: feed, sinks: sinks, cfg: cfg, log: log,
		events:      ms.NewCounter("shopedge_edge_feed_events_total"),
		errs:        ms.NewCounter("shopedge_edge_feed_errors_total"),
		loadsTotal:  ms.NewCounter("shopedge_edge_feed_snapshot_loads_total"),
		loadSeconds: ms.NewFloatCounter("shopedge_edge_feed_snapshot_load_seconds_total"),
	}
	ms.NewGauge("shopedge_edge_feed_seq", func() float64 { return float64(f.Seq()) })
	ms.NewGauge("shopedge_edge_feed_connected", func() float64 { return b2f(f.Connected()) })
	ms.NewGauge("shopedge_edge_feed_ready", func() float64 { return b2f(f.Ready()) })
	ms.NewGauge("shopedge_edge_feed_lag_seconds", func() float64 { return f.Lag().Seconds() })
	return f, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Ready reports whether the first snapshot load has completed.
func (f *Follower) Ready() bool { return f.ready.Load() }

// Connected reports whether the core answers: false once requests to it
// have failed for longer than DisconnectAfter.
func (f *Follower) Connected() bool {
	since := f.failSince.Load()
	return since == 0 || time.Since(time.Unix(0, since)) < f.cfg.DisconnectAfter
}

// Seq returns the last sequence applied to the sinks.
func (f *Follower) Seq() uint64 { return f.seq.Load() }

// Lag returns how long ago the core last answered (0 before the first
// answer). While connected it stays below Wait.
func (f *Follower) Lag() time.Duration {
	t := f.lastOK.Load()
	if t == 0 {
		return 0
	}
	return time.Since(time.Unix(0, t))
}

// Loads returns how many snapshot loads have completed.
func (f *Follower) Loads() int64 { return f.loads.Load() }

// Run loads the snapshot and follows the feed until ctx is done.
func (f *Follower) Run(ctx context.Context) {
	needLoad := true
	attempt := 0
	for ctx.Err() == nil {
		var err error
		if needLoad {
			err = f.load(ctx)
			needLoad = err != nil
		} else {
			needLoad, err = f.poll(ctx, f.pollWait())
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			f.failed(err, attempt)
			sleep(ctx, f.backoff(attempt))
			attempt++
			continue
		}
		attempt = 0
		f.answered()
	}
}

func (f *Follower) answered() {
	f.failSince.Store(0)
	f.lastOK.Store(time.Now().UnixNano())
}

func (f *Follower) failed(err error, attempt int) {
	f.errs.Inc()
	f.failSince.CompareAndSwap(0, time.Now().UnixNano())
	ev := f.log.Warn()
	if attempt > 3 {
		ev = f.log.Debug() // the first failures say it; the rest only count
	}
	ev.Err(err).Int("attempt", attempt).Bool("connected", f.Connected()).Msg("core feed unavailable")
}

// backoff returns the delay before reconnecting after attempt failures
// in a row: shopedge's one retry policy (internal/retry), without a limit
// of tries (only the context ends the follower).
func (f *Follower) backoff(attempt int) time.Duration {
	return retry.Policy{Retries: -1, Base: f.cfg.BackoffMin, Max: f.cfg.BackoffMax}.Delay(attempt)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (f *Follower) load(ctx context.Context) error {
	start := time.Now()
	for _, s := range f.sinks {
		s.BeginLoad()
	}
	lines := make([]LineSink, len(f.sinks))
	for i, s := range f.sinks {
		lines[i], _ = s.(LineSink)
	}
	n := 0
	snapshot := f.feed.Snapshot
	if sf, ok := f.feed.(SummaryFeed); ok && f.summariesEnough() {
		snapshot = sf.SnapshotSummaries
	}
	seq, err := snapshot(ctx, func(p *api.Product, line []byte) error {
		for i, s := range f.sinks {
			if ls := lines[i]; ls != nil {
				ls.LoadLine(p, line)
			} else {
				s.Load(p)
			}
		}
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load snapshot after %d products: %w", n, err)
	}
	streamed := time.Since(start)
	// Each sink's FinishLoad and EndLoad (an index build) is timed: with
	// the stream, it is where a cold start's time goes.
	finishes := f.finish(seq)
	ends := zerolog.Dict()
	for _, s := range f.sinks {
		t := time.Now()
		s.EndLoad(seq)
		ends.Dur(fmt.Sprintf("%T", s), time.Since(t))
	}
	f.seq.Store(seq)
	f.ready.Store(true)
	f.loads.Add(1)
	f.loadsTotal.Inc()
	d := time.Since(start)
	f.loadSeconds.Add(d.Seconds())
	f.log.Info().Uint64("seq", seq).Int("products", n).Dur("took", d).Dur("streamed", streamed).Dict("finish_load", finishes).Dict("end_load", ends).
		Msg("loaded catalog snapshot")
	return nil
}

// finish runs FinishLoad(seq) of every Finisher sink concurrently and
// returns how long each took.
func (f *Follower) finish(seq uint64) *zerolog.Event {
	took := make([]time.Duration, len(f.sinks))
	var wg sync.WaitGroup
	for i, s := range f.sinks {
		if fs, ok := s.(Finisher); ok {
			wg.Go(func() {
				t := time.Now()
				fs.FinishLoad(seq)
				took[i] = time.Since(t)
			})
		}
	}
	wg.Wait()
	d := zerolog.Dict()
	for i, s := range f.sinks {
		if _, ok := s.(Finisher); ok {
			d.Dur(fmt.Sprintf("%T", s), took[i])
		}
	}
	return d
}

// summariesEnough reports whether every sink loads from summaries.
func (f *Follower) summariesEnough() bool {
	for _, s := range f.sinks {
		ss, ok := s.(SummarySink)
		if !ok || !ss.LoadsSummaries() {
			return false
		}
	}
	return true
}

// pollWait is the long-poll wait of the next changes poll: Wait, or none
// while requests are failing, so that the first answer after the core
// comes back arrives at once and ends the stale marking then, not after a
// long poll's wait (issue 13: X-Shopedge-Stale stayed ~30 s).
func (f *Follower) pollWait() time.Duration {
	if f.failSince.Load() != 0 {
		return 0
	}
	return f.cfg.Wait
}

// poll runs one changes poll waiting up to wait; reload is true when the
// snapshot must be loaded again (410, or a core whose log restarted below
// our seq).
func (f *Follower) poll(ctx context.Context, wait time.Duration) (reload bool, err error) {
	seq := f.seq.Load()
	ch, err := f.feed.Changes(ctx, seq, wait)
	if errors.Is(err, coreclient.ErrGone) {
		f.log.Warn().Uint64("seq", seq).Msg("change feed position is gone; reloading the snapshot")
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if ch.Last < seq {
		f.log.Warn().Uint64("seq", seq).Uint64("core_last", ch.Last).Msg("core change log is behind this edge; reloading the snapshot")
		return true, nil
	}
	for i := range ch.Events {
		ev := &ch.Events[i]
		if ev.Seq <= seq {
			continue // replayed or out of order: already applied
		}
		for _, s := range f.sinks {
			s.Apply(ev)
		}
		seq = ev.Seq
		f.events.Inc()
	}
	if len(ch.Events) == 0 && ch.Last > seq {
		seq = ch.Last
	}
	f.seq.Store(seq)
	return false, nil
}
