package embedded

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/store"
)

// holdCommitter starts an Update whose fn blocks until release is closed, so
// Updates submitted meanwhile queue up and form the next batch.
func holdCommitter(t *testing.T, db *DB) (release func(), wait func()) {
	t.Helper()
	entered := make(chan struct{})
	ch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := db.Update(context.Background(), func(tx store.Txn) error {
			close(entered)
			<-ch
			return tx.Set([]byte("holder"), []byte("1"))
		})
		if err != nil {
			t.Errorf("holder Update: %v", err)
		}
	}()
	<-entered
	return func() { close(ch) }, wg.Wait
}

// waitQueued waits until n requests are queued for the committer.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(db.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests queued", len(db.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupCommitBatches(t *testing.T) {
	db := mustOpen(t, Options{})
	release, waitHolder := holdCommitter(t, db)
	const n = 50
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
	waitQueued(t, db, n)
	release()
	wg.Wait()
	waitHolder()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	st := db.Stats()
	// Open's bucket creation is not counted. The callers queued while the
	// holder's fn ran join its open batch: one commit for all.
	if st.Batches != 1 || st.Updates != n+1 || st.MaxBatch != n+1 {
		t.Fatalf("stats %+v, want 1 batch, %d updates, max batch %d", st, n+1, n+1)
	}
}

func TestFailedFnKeepsOthersWrites(t *testing.T) {
	db := mustOpen(t, Options{})
	release, waitHolder := holdCommitter(t, db)
	const n = 30
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = db.Update(context.Background(), func(tx store.Txn) error {
				// Every caller reads and bumps a shared counter, then writes its own key.
				v, err := tx.Get([]byte("count"))
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := tx.Set([]byte("count"), store.AppendUint64(nil, store.Uint64(v)+1)); err != nil {
					return err
				}
				if err := tx.Set(fmt.Appendf(nil, "k%02d", i), []byte("v")); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return boom
				case 2:
					if i%2 == 0 {
						panic("fn panicked")
					}
				}
				return nil
			})
		}()
	}
	waitQueued(t, db, n)
	release()
	wg.Wait()
	waitHolder()
	want := 0
	for i := range n {
		mustPanic := i%3 == 2 && i%2 == 0
		switch {
		case i%3 == 1:
			if !errors.Is(errs[i], boom) {
				t.Errorf("Update %d = %v, want boom", i, errs[i])
			}
		case mustPanic:
			if panics[i] == nil {
				t.Errorf("Update %d did not re-raise fn's panic", i)
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("Update %d = %v, panic %v", i, errs[i], panics[i])
			}
			want++
		}
	}
	err := db.View(context.Background(), func(tx store.Txn) error {
		for i := range n {
			_, err := tx.Get(fmt.Appendf(nil, "k%02d", i))
			failed := i%3 == 1 || (i%3 == 2 && i%2 == 0)
			if failed != errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("k%02d: %v (failed fn: %v)", i, err, failed)
			}
		}
		v, err := tx.Get([]byte("count"))
		if err != nil || store.Uint64(v) != uint64(want) {
			return fmt.Errorf("count = %d, %v; want %d", store.Uint64(v), err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.Batches != 1 || st.Updates != uint64(want+1) {
		t.Fatalf("stats %+v, want 1 batch and %d updates", st, want+1)
	}
}

func TestCancelWhileQueued(t *testing.T) {
	db := mustOpen(t, Options{})
	release, waitHolder := holdCommitter(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	done := make(chan error, 1)
	go func() {
		done <- db.Update(ctx, func(tx store.Txn) error {
			ran = true
			return tx.Set([]byte("x"), []byte("1"))
		})
	}()
	waitQueued(t, db, 1)
	cancel()
	release()
	waitHolder()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
	}
	if ran {
		t.Fatal("fn of a cancelled request ran")
	}
	err := db.View(context.Background(), func(tx store.Txn) error {
		if _, err := tx.Get([]byte("x")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("x: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shopedge.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte("a"), []byte("1")) })
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	err = db.View(context.Background(), func(tx store.Txn) error {
		v, err := tx.Get([]byte("a"))
		if err != nil || string(v) != "1" {
			return fmt.Errorf("a = %q, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOptionsValidate(t *testing.T) {
	f := func(o Options, field string) {
		t.Helper()
		err := o.Validate()
		if field == "" {
			if err != nil {
				t.Errorf("Validate(%+v) = %v", o, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", o, err, field)
		}
	}
	f(DefaultOptions(), "")
	f(Options{}, "")
	f(Options{MaxBatchSize: -1}, "max_batch_size")
	f(Options{MaxBatchDelay: -time.Second}, "max_batch_delay")
	f(Options{Timeout: -time.Second}, "timeout")
	f(Options{InitialMmapSize: -1}, "initial_mmap_size")
}

func TestEmptyKeyRejected(t *testing.T) {
	db := mustOpen(t, Options{})
	err := db.Update(context.Background(), func(tx store.Txn) error { return tx.Set(nil, []byte("x")) })
	if err == nil {
		t.Fatal("Set with an empty key succeeded")
	}
}

func TestRegisterMetrics(t *testing.T) {
	db := mustOpen(t, Options{NoSync: true})
	set := metrics.NewSet()
	db.RegisterMetrics(set)
	for range 3 {
		if err := db.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte("k"), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	set.WritePrometheus(&b)
	if !strings.Contains(b.String(), "shopedge_store_embedded_updates_total 3\n") {
		t.Fatalf("metrics:\n%s", b.String())
	}
}
