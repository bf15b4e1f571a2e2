package embedded

import "github.com/VictoriaMetrics/metrics"

// RegisterMetrics exposes Stats on set as shopedge_store_embedded_* series
// (read at scrape time). Call it once per set; it panics on duplicates like
// metrics.Set does.
func (db *DB) RegisterMetrics(set *metrics.Set) {
	set.NewGauge(`shopedge_store_embedded_batches_total`, func() float64 { return float64(db.Stats().Batches) })
	set.NewGauge(`shopedge_store_embedded_updates_total`, func() float64 { return float64(db.Stats().Updates) })
	set.NewGauge(`shopedge_store_embedded_discarded_total`, func() float64 { return float64(db.Stats().Discarded) })
	set.NewGauge(`shopedge_store_embedded_reruns_total`, func() float64 { return float64(db.Stats().Reruns) })
	set.NewGauge(`shopedge_store_embedded_max_batch`, func() float64 { return float64(db.Stats().MaxBatch) })
	set.NewGauge(`shopedge_store_embedded_queued`, func() float64 { return float64(len(db.reqs)) })
}
