package embedded

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
)

// RegisterMetrics exposes Stats on set as shopedge_store_embedded_* series,
// read at scrape time and named by Prometheus conventions: the running
// totals are counters (*_total), the largest batch and the queue length
// gauges. The core registers them on its /metrics set. Call it once per
// set; it panics on duplicates like metrics.Set does.
func (db *DB) RegisterMetrics(set *metrics.Set) {
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := db.Stats()
		metrics.WriteCounterUint64(w, `shopedge_store_embedded_batches_total`, st.Batches)
		metrics.WriteCounterUint64(w, `shopedge_store_embedded_updates_total`, st.Updates)
		metrics.WriteCounterUint64(w, `shopedge_store_embedded_discarded_total`, st.Discarded)
		metrics.WriteCounterUint64(w, `shopedge_store_embedded_reruns_total`, st.Reruns)
	})
	set.NewGauge(`shopedge_store_embedded_max_batch`, func() float64 { return float64(db.Stats().MaxBatch) })
	set.NewGauge(`shopedge_store_embedded_queued`, func() float64 { return float64(len(db.reqs)) })
}
