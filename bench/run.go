package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Options bound one run. Every run ends by Duration, MaxRequests or the
// context, whichever comes first.
type Options struct {
	// Concurrency is the number of workers (and client connections).
	Concurrency int `json:"concurrency"`
	// Duration bounds the measured part of the run.
	Duration time.Duration `json:"duration"`
	// Rate, when > 0, makes the run open-loop: request i is scheduled at
	// start + i/Rate and its latency counts from that time, so a server that
	// falls behind shows queueing instead of slowing the load down
	// (no coordinated omission). 0 runs closed-loop at Concurrency.
	Rate float64 `json:"rate,omitempty"`
	// MaxRequests bounds the number of requests; 0 means Duration alone.
	MaxRequests int64 `json:"max_requests,omitempty"`
	// Timeout bounds one request.
	Timeout time.Duration `json:"timeout"`
	// Warmup runs closed-loop for this long before measuring, unrecorded.
	Warmup time.Duration `json:"warmup,omitempty"`
}

// DefaultOptions returns 64 workers for 10s, closed-loop, 5s timeout.
func DefaultOptions() Options {
	return Options{Concurrency: 64, Duration: 10 * time.Second, Timeout: 5 * time.Second}
}

// Validate reports the first invalid field of o.
func (o *Options) Validate() error {
	switch {
	case o.Concurrency < 1:
		return fmt.Errorf("concurrency: must be >= 1, got %d", o.Concurrency)
	case o.Duration <= 0 && o.MaxRequests <= 0:
		return errors.New("duration: a run needs a duration or max_requests")
	case o.Duration <= 0 && o.Rate > 0:
		return errors.New("duration: an open-loop run needs a duration")
	case o.Rate < 0:
		return fmt.Errorf("rate: must be >= 0, got %g", o.Rate)
	case o.MaxRequests < 0:
		return fmt.Errorf("max_requests: must be >= 0, got %d", o.MaxRequests)
	case o.Timeout <= 0:
		return fmt.Errorf("timeout: must be > 0, got %s", o.Timeout)
	case o.Warmup < 0:
		return fmt.Errorf("warmup: must be >= 0, got %s", o.Warmup)
	}
	return nil
}

// Worker is one load-generating goroutine's state, owned by it for the run.
type Worker struct {
	ID   int
	Rand *rand.Rand
	Req  *fasthttp.Request
	Resp *fasthttp.Response
	// Bytes counts response body bytes received in the current run; an Op
	// adds to it (HTTPOp does).
	Bytes int64
}

// Op performs one request on behalf of w and returns its error kind ("" on
// success; see ErrorKind).
type Op func(w *Worker) string

// Run drives op as o says and returns the summary of the measured part.
func Run(ctx context.Context, o Options, op Op) (*Summary, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run: %w", err)
	}
	workers := make([]*Worker, o.Concurrency)
	for i := range workers {
		workers[i] = &Worker{ID: i, Rand: rand.New(rand.NewPCG(uint64(i)+1, 0x5eed)),
			Req: new(fasthttp.Request), Resp: new(fasthttp.Response)}
	}
	if o.Warmup > 0 {
		warm := o
		warm.Rate, warm.MaxRequests, warm.Duration = 0, 0, o.Warmup
		closedLoop(ctx, warm, op, workers)
	}
	if o.Rate > 0 {
		return openLoop(ctx, o, op, workers), ctx.Err()
	}
	return closedLoop(ctx, o, op, workers), ctx.Err()
}

// closedLoop runs every worker back to back until the end.
func closedLoop(ctx context.Context, o Options, op Op, workers []*Worker) *Summary {
	var started atomic.Int64
	start := time.Now()
	end := start.Add(o.Duration)
	if o.Duration <= 0 {
		end = start.Add(24 * time.Hour)
	}
	recs := forEachWorker(workers, func(w *Worker, rec *Recorder) {
		for ctx.Err() == nil && time.Now().Before(end) {
			if o.MaxRequests > 0 && started.Add(1) > o.MaxRequests {
				return
			}
			t0 := time.Now()
			kind := op(w)
			rec.Record(time.Since(t0), kind)
		}
	})
	return recs.Summarize(time.Since(start))
}

// openLoop sends request i at start + i/Rate on the first free worker and
// measures its latency from that scheduled time.
func openLoop(ctx context.Context, o Options, op Op, workers []*Worker) *Summary {
	total := int64(o.Duration.Seconds() * o.Rate)
	if o.MaxRequests > 0 && o.MaxRequests < total {
		total = o.MaxRequests
	}
	var next atomic.Int64
	start := time.Now()
	recs := forEachWorker(workers, func(w *Worker, rec *Recorder) {
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			i := next.Add(1) - 1
			if i >= total {
				return
			}
			at := start.Add(ScheduleOffset(i, o.Rate))
			if d := time.Until(at); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			} else if ctx.Err() != nil {
				return
			}
			kind := op(w)
			rec.Record(time.Since(at), kind)
		}
	})
	return recs.Summarize(time.Since(start))
}

// ScheduleOffset is the time after the start at which request i of an
// open-loop run at rate req/s is due.
func ScheduleOffset(i int64, rate float64) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / rate)
}

// forEachWorker runs fn on every worker in its own goroutine with its own
// Recorder and returns the merged Recorder.
func forEachWorker(workers []*Worker, fn func(w *Worker, rec *Recorder)) *Recorder {
	recs := make([]*Recorder, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		recs[i] = NewRecorder()
		w.Bytes = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, recs[i])
			recs[i].bytes = w.Bytes
		}()
	}
	wg.Wait()
	all := NewRecorder()
	for _, r := range recs {
		all.Merge(r)
	}
	return all
}
