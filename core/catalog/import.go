package catalog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"shopedge/core/api"
	"shopedge/store"
)

// MaxImportErrors is how many line errors an ImportResult lists.
const MaxImportErrors = 100

// ImportOptions tune one import; zero fields take the service's Config.
type ImportOptions struct {
	BatchSize int
	Workers   int
}

// LineError names a rejected import line (1-based).
type LineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// ImportResult is the outcome of Import, and the body of POST
// /admin/v1/import.
type ImportResult struct {
	Imported int         `json:"imported"`
	Failed   int         `json:"failed"`
	Errors   []LineError `json:"errors"`
}

// importLine is one NDJSON import line: a product plus optional on-hand
// counts per SKU.
type importLine struct {
	api.Product
	Stock map[string]int64 `json:"stock,omitempty"`
}

type rawLine struct {
	n int
	b []byte
}

// Import reads NDJSON from r, one product per line, optionally with a
// top-level "stock": {"<sku>": on_hand} object, and upserts every valid line.
//
// Atomicity is per batch, not per file: good lines are committed in batches
// of BatchSize products, one transaction each, and batches commit
// concurrently (Workers at a time) so the store's group commit shares
// fsyncs. A bad line (malformed, invalid, SKU owned by another product,
// stock below reserved+sold) is reported by number and never affects other
// lines. Blank lines are skipped. When the store fails, Import stops and
// returns the error with what was committed so far; batches that failed
// left nothing behind.
func (s *Service) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = s.cfg.ImportBatch
	}
	if opts.Workers <= 0 {
		opts.Workers = s.cfg.ImportWorkers
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu      sync.Mutex
		res     = ImportResult{Errors: []LineError{}}
		failErr error
	)
	fail := func(errs []LineError) {
		mu.Lock()
		defer mu.Unlock()
		res.Failed += len(errs)
		res.Errors = append(res.Errors, errs...)
		if len(res.Errors) > 2*MaxImportErrors {
			// Keep the lowest-numbered lines: batches finish out of order.
			sortLineErrors(res.Errors)
			res.Errors = res.Errors[:MaxImportErrors]
		}
	}
	batches := make(chan []rawLine, opts.Workers)
	var wg sync.WaitGroup
	for i := 0; i < opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				n, errs, err := s.importBatch(ctx, b)
				fail(errs)
				mu.Lock()
				res.Imported += n
				if err != nil && failErr == nil {
					failErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}

	readErr := s.readLines(ctx, r, opts.BatchSize, batches, fail)
	close(batches)
	wg.Wait()
	sortLineErrors(res.Errors)
	if len(res.Errors) > MaxImportErrors {
		res.Errors = res.Errors[:MaxImportErrors]
	}
	if failErr != nil {
		return res, fmt.Errorf("cannot import: %w", failErr)
	}
	if readErr != nil {
		return res, fmt.Errorf("cannot import: %w", readErr)
	}
	return res, nil
}

// readLines splits r into numbered lines and sends them in batches.
func (s *Service) readLines(ctx context.Context, r io.Reader, size int, out chan<- []rawLine, fail func([]LineError)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	batch := make([]rawLine, 0, size)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, tooLong, err := readLine(br, s.cfg.ImportMaxLine)
		if len(line) > 0 || tooLong || err == nil {
			n++
		}
		if tooLong {
			fail([]LineError{{Line: n, Error: fmt.Sprintf("line longer than %d bytes", s.cfg.ImportMaxLine)}})
		} else if len(bytes.TrimSpace(line)) > 0 {
			batch = append(batch, rawLine{n: n, b: line})
			if len(batch) == size {
				select {
				case out <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]rawLine, 0, size)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("cannot read line %d: %w", n, err)
		}
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// readLine returns the next line without its newline, as a fresh copy.
// Lines over max are skipped and reported as tooLong.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		frag, e := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > max+1 {
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if e == bufio.ErrBufferFull {
			continue
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		return line, tooLong, e
	}
}

// importBatch decodes and validates lines and commits the good ones in one
// transaction. It returns how many were committed and the rejected lines.
func (s *Service) importBatch(ctx context.Context, lines []rawLine) (int, []LineError, error) {
	var errs []LineError
	type good struct {
		n  int
		pr *prepared
	}
	goods := make([]good, 0, len(lines))
	for _, rl := range lines {
		l := new(importLine)
		err := decodeStrict(rl.b, l, importSchema)
		if err == nil {
			err = Validate(&l.Product)
		}
		if err == nil {
			err = validStock(l.Stock)
		}
		var pr *prepared
		if err == nil {
			pr, err = s.prepare(&l.Product, l.Stock)
		}
		if err != nil {
			errs = append(errs, LineError{Line: rl.n, Error: errText(err)})
			continue
		}
		goods = append(goods, good{rl.n, pr})
	}
	if len(goods) == 0 {
		return 0, errs, nil
	}
	var txErrs []LineError
	n := 0
	err := s.update(ctx, func(tx store.Txn) error {
		txErrs, n = txErrs[:0], 0
		for _, g := range goods {
			_, err := s.putPrepared(tx, g.pr)
			var ae *api.Error
			if errors.As(err, &ae) {
				txErrs = append(txErrs, LineError{Line: g.n, Error: errText(err)})
				continue
			}
			if err != nil {
				return fmt.Errorf("line %d: %w", g.n, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, errs, err
	}
	return n, append(errs, txErrs...), nil
}

func errText(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

func sortLineErrors(es []LineError) {
	sort.Slice(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}

func validStock(m map[string]int64) error {
	for sku, n := range m {
		if n < 0 {
			return api.Invalid("stock."+sku, "must be >= 0, got %d", n)
		}
	}
	return nil
}
