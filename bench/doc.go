// Package bench is shopedge's load generator: a fasthttp client driving a
// target at fixed concurrency (closed loop) or at a fixed request rate (open
// loop, latency measured from each request's scheduled time so queueing
// shows), HdrHistogram latencies, errors by kind, and results as JSON and a
// Markdown table with ratios against a bare fasthttp baseline measured in the
// same run. The scenarios (products, suggest, flashsale) start the real core
// and edge binaries on loopback ports. The CLI is bench/cmd/bench.
package bench
