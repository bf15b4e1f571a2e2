package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"shopedge/store"
)

// increment adds one to the counter at "count" and records the value it
// wrote under its own key (own), read-modify-write like a stock update.
func increment(db *DB, own []byte) error {
	return db.Update(context.Background(), func(tx store.Txn) error {
		v, err := tx.Get([]byte("count"))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		next := store.AppendUint64(nil, store.Uint64(v)+1)
		if err := tx.Set([]byte("count"), next); err != nil {
			return err
		}
		return tx.Set(own, next)
	})
}

// runIncrements runs workers × each increments at once and returns each
// one's key and error.
func runIncrements(db *DB, workers, each int) (keys [][]byte, errs []error) {
	keys = make([][]byte, workers*each)
	errs = make([]error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := w*each + i
				keys[n] = fmt.Appendf(nil, "own/%05d", n)
				errs[n] = increment(db, keys[n])
			}
		}()
	}
	wg.Wait()
	return keys, errs
}

// checkCounter checks that the successful increments wrote the values
// 1..count exactly once each: no update was lost or read a write that
// never landed.
func checkCounter(t *testing.T, db *DB, keys [][]byte, errs []error) int {
	t.Helper()
	var seen []uint64
	var count uint64
	err := db.View(context.Background(), func(tx store.Txn) error {
		v, err := tx.Get([]byte("count"))
		if err != nil {
			return err
		}
		count = store.Uint64(v)
		for i, k := range keys {
			v, err := tx.Get(k)
			switch {
			case errs[i] == nil && err != nil:
				return fmt.Errorf("acknowledged %s missing: %v", k, err)
			case errs[i] != nil && err == nil:
				return fmt.Errorf("failed %s (%v) was written", k, errs[i])
			case err == nil:
				seen = append(seen, store.Uint64(v))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	for i, v := range seen {
		if v != uint64(i+1) {
			t.Fatalf("successful increments wrote %v..., want 1..%d each once", seen[:min(len(seen), i+3)], len(seen))
		}
	}
	if count != uint64(len(seen)) {
		t.Fatalf("count %d after %d successful increments", count, len(seen))
	}
	return len(seen)
}

// TestPipelinedBatchesLoseNoUpdate runs read-modify-write updates of one
// key from many goroutines, so that batches execute while the previous one
// commits and read its writes before they are durable.
func TestPipelinedBatchesLoseNoUpdate(t *testing.T) {
	db := mustOpen(t, Options{})
	keys, errs := runIncrements(db, 64, 20)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("increment %d: %v", i, err)
		}
	}
	if n := checkCounter(t, db, keys, errs); n != len(keys) {
		t.Fatalf("%d of %d increments landed", n, len(keys))
	}
	if st := db.Stats(); st.Batches < 2 || st.MaxBatch < 2 || st.Reruns != 0 {
		t.Fatalf("stats %+v: want several batches of several updates, no reruns", st)
	}
}

// TestFailedCommitRerunsNextBatch fails some commits (slowly, so the next
// batch has executed on top of their writes meanwhile): their callers get
// ErrUndetermined and write nothing, and the batch that read their writes
// runs again, so the successful increments still count 1, 2, 3…
func TestFailedCommitRerunsNextBatch(t *testing.T) {
	db := mustOpen(t, Options{})
	var mu sync.Mutex
	commits := 0
	db.commitHook = func() error {
		mu.Lock()
		commits++
		n := commits
		mu.Unlock()
		if n%4 == 2 {
			time.Sleep(20 * time.Millisecond)
			return errors.New("injected commit failure")
		}
		return nil
	}
	keys, errs := runIncrements(db, 32, 10)
	failed := 0
	for i, err := range errs {
		if err != nil {
			if !errors.Is(err, store.ErrUndetermined) {
				t.Fatalf("increment %d: %v, want ErrUndetermined", i, err)
			}
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no commit failed")
	}
	checkCounter(t, db, keys, errs)
	if st := db.Stats(); st.Reruns == 0 {
		t.Fatalf("stats %+v: no batch ran again after a failed commit", st)
	}
}

// TestScanSeesCommittingBatch scans while the batch before is still
// committing: the scan merges the snapshot, that batch's writes, and the
// caller's own, each newer one winning.
func TestScanSeesCommittingBatch(t *testing.T) {
	db := mustOpen(t, Options{})
	ctx := context.Background()
	set := func(tx store.Txn, kv ...string) {
		for i := 0; i < len(kv); i += 2 {
			var err error
			if kv[i+1] == "-" {
				err = tx.Delete([]byte(kv[i]))
			} else {
				err = tx.Set([]byte(kv[i]), []byte(kv[i+1]))
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
	if err := db.Update(ctx, func(tx store.Txn) error { set(tx, "a", "1", "c", "1", "e", "1", "g", "1"); return nil }); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	db.commitHook = func() error {
		once.Do(func() { close(entered); <-release })
		return nil
	}
	first := make(chan error, 1)
	go func() {
		first <- db.Update(ctx, func(tx store.Txn) error { set(tx, "b", "2", "c", "2", "e", "-"); return nil })
	}()
	<-entered // the first batch is committing, held
	var got bytes.Buffer
	second := make(chan error, 1)
	go func() {
		second <- db.Update(ctx, func(tx store.Txn) error {
			set(tx, "d", "3", "c", "3", "g", "-")
			return tx.Scan([]byte("a"), []byte("z"), 0, func(k, v []byte) error {
				fmt.Fprintf(&got, "%s=%s ", k, v)
				return nil
			})
		})
	}()
	select {
	case err := <-second:
		t.Fatalf("second Update answered before the first committed: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if want := "a=1 b=2 c=3 d=3 "; got.String() != want {
		t.Fatalf("scan = %q, want %q", got.String(), want)
	}
}

// TestMaxBatchSizeBounds queues more callers than a batch holds: they are
// committed in several batches, none larger than MaxBatchSize.
func TestMaxBatchSizeBounds(t *testing.T) {
	db := mustOpen(t, Options{MaxBatchSize: 5})
	release, waitHolder := holdCommitter(t, db)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Update(context.Background(), func(tx store.Txn) error {
				return tx.Set(fmt.Appendf(nil, "k%02d", i), []byte("v"))
			})
		}()
	}
	waitQueued(t, db, 4) // the channel holds MaxBatchSize; the rest wait to send
	release()
	wg.Wait()
	waitHolder()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	if st := db.Stats(); st.MaxBatch > 5 || st.Batches < (n+1+4)/5 || st.Updates != n+1 {
		t.Fatalf("stats %+v: want batches of at most 5 carrying %d updates", st, n+1)
	}
}

// TestMaxBatchDelayGathers starts callers a little apart with a long
// MaxBatchDelay: the first waits for the others and all commit together.
func TestMaxBatchDelayGathers(t *testing.T) {
	db := mustOpen(t, Options{MaxBatchDelay: time.Second})
	const n = 5
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 20 * time.Millisecond)
			if err := db.Update(context.Background(), func(tx store.Txn) error {
				return tx.Set(fmt.Appendf(nil, "k%d", i), []byte("v"))
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if st := db.Stats(); st.Batches != 1 || st.Updates != n {
		t.Fatalf("stats %+v: want one batch of %d", st, n)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("answered after %s, before MaxBatchDelay", d)
	}
}

// TestFailedFnAnsweredAfterItsBatchCommits runs, in one batch, a caller
// that claims a key and a second that finds it claimed and fails (as a
// checkout finds its Idempotency-Key in flight). The batch's commit fails:
// the claim never lands, so the second caller must not have been told the
// key was taken. It is answered only after the commit, and runs again on
// what did land: it claims the key itself. (Before, failed callers were
// answered when their batch was handed to the writer, from writes that
// had not committed and here never did.)
func TestFailedFnAnsweredAfterItsBatchCommits(t *testing.T) {
	db := mustOpen(t, Options{MaxBatchDelay: 300 * time.Millisecond})
	errTaken := errors.New("claimed by another caller")
	failCommit := make(chan struct{}, 1)
	failCommit <- struct{}{}
	committing := make(chan struct{}, 1)
	db.commitHook = func() error {
		select {
		case committing <- struct{}{}:
		default:
		}
		select {
		case <-failCommit:
			time.Sleep(50 * time.Millisecond)
			return errors.New("injected commit failure")
		default:
			return nil
		}
	}
	claim := func(who string, ran chan<- struct{}) error {
		return db.Update(context.Background(), func(tx store.Txn) error {
			defer func() {
				if ran != nil {
					ran <- struct{}{}
				}
			}()
			if _, err := tx.Get([]byte("claim")); err == nil {
				return errTaken
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return tx.Set([]byte("claim"), []byte(who))
		})
	}
	ranA := make(chan struct{}, 2)
	errA := make(chan error, 1)
	go func() { errA <- claim("a", ranA) }()
	<-ranA // a's write is in the open batch, not committed
	errB := make(chan error, 1)
	go func() { errB <- claim("b", nil) }()
	var gotB error
	select {
	case gotB = <-errB:
		select {
		case <-committing:
		default:
			t.Fatalf("b answered %v before its batch committed", gotB)
		}
	case err := <-errA:
		gotB = <-errB
		if !errors.Is(err, store.ErrUndetermined) {
			t.Fatalf("a: %v, want ErrUndetermined", err)
		}
	}
	if gotB != nil {
		t.Fatalf("b answered %v: it read a claim that never landed", gotB)
	}
	var holder []byte
	_ = db.View(context.Background(), func(tx store.Txn) error { holder, _ = tx.Get([]byte("claim")); return nil })
	if string(holder) != "b" {
		t.Fatalf("claim held by %q, want b", holder)
	}
	if st := db.Stats(); st.Reruns == 0 {
		t.Fatalf("stats %+v: b did not run again", st)
	}
}
