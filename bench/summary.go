package bench

import (
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1µs to 60s with 3 significant
// digits.
const (
	histMin = 1
	histMax = int64(60 * time.Second / time.Microsecond)
	histSig = 3
)

// Recorder collects one worker's outcomes. It is not safe for concurrent
// use: each worker owns one and Merge combines them after the run.
type Recorder struct {
	hist   *hdrhistogram.Histogram
	ok     int64
	bytes  int64
	errors map[string]int64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{hist: hdrhistogram.New(histMin, histMax, histSig), errors: map[string]int64{}}
}

// Record adds one request that took d; kind is "" for success or the error
// kind (see ErrorKind).
func (r *Recorder) Record(d time.Duration, kind string) {
	us := int64(d / time.Microsecond)
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = r.hist.RecordValue(us)
	if kind == "" {
		r.ok++
	} else {
		r.errors[kind]++
	}
}

// Merge adds o's outcomes to r.
func (r *Recorder) Merge(o *Recorder) {
	r.hist.Merge(o.hist)
	r.ok += o.ok
	r.bytes += o.bytes
	for k, v := range o.errors {
		r.errors[k] += v
	}
}

// Summary is the outcome of one run: throughput, latency percentiles in
// milliseconds (all requests, failed ones included), and errors by kind.
type Summary struct {
	Requests int64            `json:"requests"`
	OK       int64            `json:"ok"`
	Errors   map[string]int64 `json:"errors,omitempty"`
	Seconds  float64          `json:"seconds"`
	RPS      float64          `json:"rps"`
	MeanMs   float64          `json:"mean_ms"`
	P50Ms    float64          `json:"p50_ms"`
	P90Ms    float64          `json:"p90_ms"`
	P99Ms    float64          `json:"p99_ms"`
	P999Ms   float64          `json:"p99_9_ms"`
	MaxMs    float64          `json:"max_ms"`
	// BodyBytes is the mean response body size.
	BodyBytes float64 `json:"body_bytes"`
}

// Summarize returns r's summary over a run that lasted elapsed.
func (r *Recorder) Summarize(elapsed time.Duration) *Summary {
	s := &Summary{OK: r.ok, Seconds: elapsed.Seconds()}
	s.Requests = r.hist.TotalCount()
	if len(r.errors) > 0 {
		s.Errors = make(map[string]int64, len(r.errors))
		for k, v := range r.errors {
			s.Errors[k] = v
		}
	}
	if s.Seconds > 0 {
		s.RPS = float64(s.Requests) / s.Seconds
	}
	if s.Requests > 0 {
		s.BodyBytes = float64(r.bytes) / float64(s.Requests)
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	s.MeanMs = r.hist.Mean() / 1000
	s.P50Ms = ms(r.hist.ValueAtQuantile(50))
	s.P90Ms = ms(r.hist.ValueAtQuantile(90))
	s.P99Ms = ms(r.hist.ValueAtQuantile(99))
	s.P999Ms = ms(r.hist.ValueAtQuantile(99.9))
	s.MaxMs = ms(r.hist.Max())
	return s
}

// ErrorCount returns the number of failed requests.
func (s *Summary) ErrorCount() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// ErrorKinds returns the error kinds of s, sorted.
func (s *Summary) ErrorKinds() []string {
	ks := make([]string, 0, len(s.Errors))
	for k := range s.Errors {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Ratio compares a run with the baseline of the same invocation: RPS is
// run/baseline (1 = as fast as bare fasthttp), the latency ratios are
// run/baseline (1 = no slower).
type Ratio struct {
	RPS float64 `json:"rps"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// RatioTo returns s compared with base. A zero denominator gives 0.
func (s *Summary) RatioTo(base *Summary) Ratio {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return Ratio{RPS: div(s.RPS, base.RPS), P50: div(s.P50Ms, base.P50Ms), P99: div(s.P99Ms, base.P99Ms)}
}
