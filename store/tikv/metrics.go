package tikv

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
)

// RegisterMetrics exposes Stats on set as shopedge_store_tikv_*_total
// counters (running totals, read at scrape time). The core registers them
// on its /metrics set. Call it once per set.
func (s *Store) RegisterMetrics(set *metrics.Set) {
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := s.Stats()
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_runs_total`, st.Runs)
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_commits_total`, st.Commits)
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_conflicts_total`, st.Conflicts)
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_undetermined_total`, st.Undetermined)
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_commits_by_mode_total{mode="async_commit"}`, st.AsyncCommits)
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_commits_by_mode_total{mode="1pc"}`, st.OnePCs)
		metrics.WriteCounterUint64(w, `shopedge_store_tikv_commit_mode_fallbacks_total`, st.Fallbacks)
	})
}
