package tikv

import "github.com/VictoriaMetrics/metrics"

// RegisterMetrics exposes Stats on set as shopedge_store_tikv_* series
// (read at scrape time). Call it once per set; it panics on duplicates like
// metrics.Set does.
func (s *Store) RegisterMetrics(set *metrics.Set) {
	set.NewGauge(`shopedge_store_tikv_runs_total`, func() float64 { return float64(s.Stats().Runs) })
	set.NewGauge(`shopedge_store_tikv_commits_total`, func() float64 { return float64(s.Stats().Commits) })
	set.NewGauge(`shopedge_store_tikv_conflicts_total`, func() float64 { return float64(s.Stats().Conflicts) })
	set.NewGauge(`shopedge_store_tikv_undetermined_total`, func() float64 { return float64(s.Stats().Undetermined) })
	set.NewGauge(`shopedge_store_tikv_commits_by_mode_total{mode="async_commit"}`, func() float64 { return float64(s.Stats().AsyncCommits) })
	set.NewGauge(`shopedge_store_tikv_commits_by_mode_total{mode="1pc"}`, func() float64 { return float64(s.Stats().OnePCs) })
	set.NewGauge(`shopedge_store_tikv_commit_mode_fallbacks_total`, func() float64 { return float64(s.Stats().Fallbacks) })
}
