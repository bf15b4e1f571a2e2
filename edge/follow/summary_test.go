package follow

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"shopedge/core/api"
)

// summaryFeed is a scripted feed that also streams summaries and counts
// which of the two a load asked for.
type summaryFeed struct {
	scripted
	full, summaries atomic.Int32
}

func (s *summaryFeed) Snapshot(ctx context.Context, fn func(*api.Product, []byte) error) (uint64, error) {
	s.full.Add(1)
	return s.scripted.Snapshot(ctx, fn)
}

func (s *summaryFeed) SnapshotSummaries(ctx context.Context, fn func(*api.Product, []byte) error) (uint64, error) {
	s.summaries.Add(1)
	return s.scripted.Snapshot(ctx, fn)
}

// summaryRecorder is a recorder that says whether summaries are enough.
type summaryRecorder struct {
	recorder
	enough bool
}

func (r *summaryRecorder) LoadsSummaries() bool { return r.enough }

func TestFollowerLoadsSummariesOnlyWhenEverySinkCan(t *testing.T) {
	f := func(sinks []Sink, wantSummaries bool) {
		t.Helper()
		feed := &summaryFeed{}
		fl, err := New(feed, sinks, testConfig(), zerolog.Nop(), metrics.NewSet())
		if err != nil {
			t.Fatal(err)
		}
		run(t, fl)
		eventually(t, "ready", fl.Ready)
		if got := feed.summaries.Load() == 1 && feed.full.Load() == 0; got != wantSummaries {
			t.Fatalf("summaries %d, full %d; want summaries only: %v", feed.summaries.Load(), feed.full.Load(), wantSummaries)
		}
	}
	yes := func() Sink { return &summaryRecorder{enough: true} }
	f([]Sink{yes(), yes()}, true)
	f([]Sink{yes(), &summaryRecorder{enough: false}}, false)
	f([]Sink{yes(), &recorder{}}, false) // a sink that does not say needs everything
}
