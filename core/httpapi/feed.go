package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"shopedge/core/api"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/store"
)

// snapshot streams every product (availability filled in) as NDJSON, most
// popular first (see catalog.ScanProductJSON), from one read transaction, with the sequence that transaction saw
// in the X-Shopedge-Seq header: applying the feed after that sequence to
// the snapshot yields the catalog. The stream writer runs on its own
// goroutine (fasthttp's SetBodyStreamWriter); it opens the transaction,
// hands the sequence back to the handler for the header, then streams. If
// the client goes away, writes fail and the transaction ends.
func (a *API) snapshot(ctx *fasthttp.RequestCtx) error {
	// A handler-set deadline replaces the server's write timeout.
	if err := ctx.SetWriteDeadline(time.Now().Add(a.cfg.SnapshotWriteTimeout)); err != nil {
		return fmt.Errorf("cannot extend the snapshot's write deadline: %w", err)
	}
	seqCh := make(chan uint64, 1)
	errCh := make(chan error, 1)
	st := a.cat.Store()
	logger := a.logger
	cat := a.cat
	ctx.SetBodyStreamWriter(func(cw *bufio.Writer) {
		// fasthttp's stream buffer is 4 KiB: a million products would
		// take a chunk and a write system call per 4 KiB.
		w := bufio.NewWriterSize(cw, snapshotBuffer)
		sent := false
		n := 0
		err := st.View(context.Background(), func(tx store.Txn) error {
			seq, err := changelog.LastSeq(tx)
			if err != nil {
				return err
			}
			seqCh <- seq
			sent = true
			return cat.ScanProductJSON(tx, func(b []byte) error {
				n++
				if _, err := w.Write(b); err != nil {
					return err
				}
				return w.WriteByte('\n')
			})
		})
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			if !sent {
				errCh <- err
				return
			}
			// Headers are gone: the client sees a truncated body (no final
			// chunk) and retries.
			logger.Warn().Err(err).Int("products", n).Msg("snapshot stream ended early")
		}
	})
	select {
	case seq := <-seqCh:
		ctx.Response.Header.SetContentType("application/x-ndjson")
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.Response.Header.Set(api.SeqHeader, strconv.FormatUint(seq, 10))
		return nil
	case err := <-errCh:
		ctx.Response.ResetBody()
		return err
	}
}

// snapshotBuffer is the write buffer of a snapshot stream.
const snapshotBuffer = 256 << 10

// changes answers GET /internal/v1/changes?after=N&limit=L&wait=D: events
// after N at once when there are some, else it long-polls up to D (default
// and maximum ChangesWait; wait=0 answers at once).
func (a *API) changes(ctx *fasthttp.RequestCtx) error {
	args := ctx.QueryArgs()
	if !args.Has("after") {
		return api.Invalid("after", "required")
	}
	after, err := strconv.ParseUint(string(args.Peek("after")), 10, 64)
	if err != nil {
		return api.Invalid("after", "must be a non-negative integer")
	}
	limit := 0
	if args.Has("limit") {
		limit, err = strconv.Atoi(string(args.Peek("limit")))
		if err != nil || limit < 1 {
			return api.Invalid("limit", "must be a positive integer")
		}
	}
	wait := a.cfg.ChangesWait
	if args.Has("wait") {
		wait, err = parseWait(string(args.Peek("wait")))
		if err != nil || wait < 0 {
			return api.Invalid("wait", "must be a duration such as 30s or 500ms")
		}
		wait = min(wait, a.cfg.ChangesWait)
	}
	// The edge has applied everything up to after: tell the CDN purger.
	a.followers.begin(ctx.ConnID(), after, time.Now())
	defer func() { a.followers.end(ctx.ConnID(), time.Now()) }()
	var ch *api.Changes
	if wait == 0 {
		ch, err = a.log.Read(ctx, after, limit)
	} else {
		ch, err = a.log.WaitN(ctx, after, limit, wait)
	}
	if err != nil {
		return err
	}
	return writeJSON(ctx, ch)
}

// parseWait accepts a Go duration ("30s", "500ms") or bare seconds ("30").
func parseWait(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// feedProduct answers GET /internal/v1/products/{id}.
func (a *API) feedProduct(ctx *fasthttp.RequestCtx) error {
	id := param(ctx, "id")
	if err := catalog.ValidID("id", id); err != nil {
		return err
	}
	p, err := a.cat.Get(ctx, id)
	if err != nil {
		return err
	}
	return writeJSON(ctx, p)
}
