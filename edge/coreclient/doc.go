// Package coreclient is the edge's client of the core: product reads, the
// change feed (long polls) and the catalog snapshot, streamed and decoded
// on several goroutines (in full, or as summaries by an exact-layout
// scanner with goccy behind it). It speaks the wire contract of
// shopedge/core/api and depends on nothing else of the core.
package coreclient
