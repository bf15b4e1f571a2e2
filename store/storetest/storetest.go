// Package storetest is the conformance suite every store.Store backend
// passes. Backends call Run from their tests with a function that opens a
// fresh, empty store and registers its Close with t.Cleanup.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shopedge/store"
)

// Config sizes the suite's hot-key test (NoLostUpdate).
type Config struct {
	// HotWriters goroutines each run HotIncrements read-increment-write
	// transactions on one key; the counter must end at their product.
	HotWriters    int
	HotIncrements int
}

// DefaultConfig is the size Run uses: 32 writers × 100 increments.
func DefaultConfig() Config { return Config{HotWriters: 32, HotIncrements: 100} }

// Run runs the whole suite as subtests of t with DefaultConfig. open must
// return a new, empty store each call, closed by a t.Cleanup it registers
// (Close may also be called by the suite; it must then be a no-op the
// second time).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	RunConfig(t, open, DefaultConfig())
}

// RunConfig is Run with a smaller or larger hot-key test, for backends whose
// test double is too slow for the default under the race detector.
func RunConfig(t *testing.T, open func(t *testing.T) store.Store, cfg Config) {
	if cfg.HotWriters <= 0 || cfg.HotIncrements <= 0 {
		cfg = DefaultConfig()
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"NotFound", testNotFound},
		{"EmptyAndBinaryValues", testEmptyAndBinaryValues},
		{"ScanBounds", testScanBounds},
		{"ScanBinaryKeys", testScanBinaryKeys},
		{"ScanStopsOnError", testScanStopsOnError},
		{"ViewScanValuesStayValid", testViewScanValuesStayValid},
		{"ReadYourWrites", testReadYourWrites},
		{"SnapshotRead", testSnapshotRead},
		{"NoLostUpdate", func(t *testing.T, s store.Store) { testNoLostUpdate(t, s, cfg) }},
		{"ConflictingWritersRetried", testConflictingWritersRetried},
		{"RetryRereads", testRetryRereads},
		{"FnErrorWritesNothing", testFnErrorWritesNothing},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"ContextCancelled", testContextCancelled},
		{"LargeValues", testLargeValues},
		{"ConcurrentDistinctKeys", testConcurrentDistinctKeys},
		{"Prefixed", testPrefixed},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func set(t *testing.T, s store.Store, kv ...string) {
	t.Helper()
	err := s.Update(context.Background(), func(tx store.Txn) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Set([]byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// get returns key's value, or "<nil>" when absent.
func get(t *testing.T, s store.Store, key string) string {
	t.Helper()
	var out string
	err := s.View(context.Background(), func(tx store.Txn) error {
		v, err := tx.Get([]byte(key))
		if errors.Is(err, store.ErrNotFound) {
			out = "<nil>"
			return nil
		}
		out = string(v)
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return out
}

// scan returns "k=v" pairs of tx.Scan joined by spaces.
func scan(t *testing.T, tx store.Txn, start, end []byte, limit int) string {
	t.Helper()
	var b bytes.Buffer
	err := tx.Scan(start, end, limit, func(k, v []byte) error {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", k, v)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return b.String()
}

func viewScan(t *testing.T, s store.Store, start, end string, limit int) string {
	t.Helper()
	var out string
	var e []byte
	if end != "" {
		e = []byte(end)
	}
	err := s.View(context.Background(), func(tx store.Txn) error {
		out = scan(t, tx, []byte(start), e, limit)
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return out
}

func testGetSetDelete(t *testing.T, s store.Store) {
	set(t, s, "a", "1", "b", "2")
	if got := get(t, s, "a"); got != "1" {
		t.Fatalf("a = %q, want 1", got)
	}
	set(t, s, "a", "3")
	if got := get(t, s, "a"); got != "3" {
		t.Fatalf("a after overwrite = %q, want 3", got)
	}
	err := s.Update(context.Background(), func(tx store.Txn) error {
		if err := tx.Delete([]byte("a")); err != nil {
			return err
		}
		return tx.Delete([]byte("never-there"))
	})
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := get(t, s, "a"); got != "<nil>" {
		t.Fatalf("a after delete = %q", got)
	}
	if got := get(t, s, "b"); got != "2" {
		t.Fatalf("b = %q, want 2", got)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	set(t, s, "present", "x")
	check := func(tx store.Txn) error {
		v, err := tx.Get([]byte("absent"))
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get(absent) = %q, %v; want ErrNotFound", v, err)
		}
		return nil
	}
	if err := s.View(context.Background(), check); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), check); err != nil {
		t.Fatal(err)
	}
}

func testEmptyAndBinaryValues(t *testing.T, s store.Store) {
	vals := map[string][]byte{
		"empty": {},
		"zero":  {0},
		"zeros": {0, 0, 1},
		"ff":    {0xff, 0},
		"u64":   store.AppendUint64(nil, 7),
	}
	err := s.Update(context.Background(), func(tx store.Txn) error {
		for k, v := range vals {
			if err := tx.Set([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	err = s.View(context.Background(), func(tx store.Txn) error {
		for k, want := range vals {
			got, err := tx.Get([]byte(k))
			if err != nil {
				return fmt.Errorf("Get(%s): %w", k, err)
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("Get(%s) = %x, want %x", k, got, want)
			}
		}
		n := 0
		err := tx.Scan([]byte(""), nil, 0, func(k, v []byte) error {
			n++
			if !bytes.Equal(v, vals[string(k)]) {
				return fmt.Errorf("tx.Scan: %s = %x, want %x", k, v, vals[string(k)])
			}
			return nil
		})
		if err == nil && n != len(vals) {
			err = fmt.Errorf("tx.Scan saw %d keys, want %d", n, len(vals))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testScanBounds(t *testing.T, s store.Store) {
	set(t, s, "b", "2", "a", "1", "d", "4", "c", "3", "ca", "31", "e", "5")
	f := func(start, end string, limit int, want string) {
		t.Helper()
		if got := viewScan(t, s, start, end, limit); got != want {
			t.Errorf("Scan(%q, %q, %d) = %q, want %q", start, end, limit, got, want)
		}
	}
	f("", "", 0, "a=1 b=2 c=3 ca=31 d=4 e=5")
	f("b", "d", 0, "b=2 c=3 ca=31")
	f("bb", "ca", 0, "c=3")
	f("c", "", 0, "c=3 ca=31 d=4 e=5")
	f("c", "", 2, "c=3 ca=31")
	f("", "", 1, "a=1")
	f("a", "a", 0, "")
	f("d", "b", 0, "")
	f("f", "", 0, "")
	f("", "", -1, "a=1 b=2 c=3 ca=31 d=4 e=5")
}

// testViewScanValuesStayValid keeps every value a View's Scan passed (no
// copy) and checks them once the scan is over: more keys than one batch of
// a batching backend, of differing sizes, so a reused buffer would show.
func testViewScanValuesStayValid(t *testing.T, s store.Store) {
	const n = 1500
	val := func(i int) []byte {
		return bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%300)
	}
	err := s.Update(context.Background(), func(tx store.Txn) error {
		for i := range n {
			if err := tx.Set(fmt.Appendf(nil, "v%05d", i), val(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	err = s.View(context.Background(), func(tx store.Txn) error {
		var kept [][]byte
		if err := tx.Scan([]byte("v"), []byte("w"), 0, func(k, v []byte) error {
			kept = append(kept, v)
			return nil
		}); err != nil {
			return err
		}
		if len(kept) != n {
			return fmt.Errorf("scanned %d values, want %d", len(kept), n)
		}
		for i, v := range kept {
			if !bytes.Equal(v, val(i)) {
				return fmt.Errorf("value %d changed after the scan: %q", i, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testScanBinaryKeys(t *testing.T, s store.Store) {
	keys := [][]byte{
		{0x00}, {0x00, 0x00}, {0x00, 0xff}, {0x01}, {0x7f, 0xff},
		{0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0xff},
	}
	err := s.Update(context.Background(), func(tx store.Txn) error {
		for i := len(keys) - 1; i >= 0; i-- {
			if err := tx.Set(keys[i], []byte{byte(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	collect := func(start, end []byte, limit int) [][]byte {
		var out [][]byte
		err := s.View(context.Background(), func(tx store.Txn) error {
			return tx.Scan(start, end, limit, func(k, v []byte) error {
				out = append(out, append([]byte(nil), k...))
				return nil
			})
		})
		if err != nil {
			t.Fatalf("View: %v", err)
		}
		return out
	}
	f := func(start, end []byte, limit int, want [][]byte) {
		t.Helper()
		got := collect(start, end, limit)
		if fmt.Sprintf("%x", got) != fmt.Sprintf("%x", want) {
			t.Errorf("Scan(%x, %x, %d) = %x, want %x", start, end, limit, got, want)
		}
	}
	f(nil, nil, 0, keys)
	f([]byte{0x00}, []byte{0x01}, 0, keys[:3])
	f([]byte{0x00, 0x00}, []byte{0x00, 0xff}, 0, keys[1:2])
	f([]byte{0xff}, nil, 0, keys[5:])
	f([]byte{0xff, 0x00}, []byte{0xff, 0xff, 0xff}, 0, keys[6:8])
	f([]byte{0xff}, nil, 2, keys[5:7])
	f(store.PrefixEnd([]byte{0x00}), store.PrefixEnd([]byte{0x7f}), 0, keys[3:5])
}

func testScanStopsOnError(t *testing.T, s store.Store) {
	set(t, s, "a", "1", "b", "2", "c", "3")
	stop := errors.New("stop")
	var seen []string
	err := s.View(context.Background(), func(tx store.Txn) error {
		return tx.Scan(nil, nil, 0, func(k, v []byte) error {
			seen = append(seen, string(k))
			if string(k) == "b" {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) {
		t.Fatalf("View = %v, want the scan's error", err)
	}
	if fmt.Sprint(seen) != "[a b]" {
		t.Fatalf("scan saw %v, want [a b]", seen)
	}
}

func testReadYourWrites(t *testing.T, s store.Store) {
	set(t, s, "a", "1", "b", "2", "c", "3", "d", "4")
	err := s.Update(context.Background(), func(tx store.Txn) error {
		steps := []error{
			tx.Set([]byte("b"), []byte("20")),
			tx.Delete([]byte("c")),
			tx.Set([]byte("bb"), []byte("22")),
			tx.Set([]byte("e"), []byte("5")),
			tx.Set([]byte("0"), []byte("0")),
		}
		if err := errors.Join(steps...); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("b")); err != nil || string(v) != "20" {
			return fmt.Errorf("Get(b) = %q, %v; want 20", v, err)
		}
		if _, err := tx.Get([]byte("c")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("Get(c) after Delete: %v, want ErrNotFound", err)
		}
		f := func(start, end string, limit int, want string) {
			t.Helper()
			var e []byte
			if end != "" {
				e = []byte(end)
			}
			if got := scan(t, tx, []byte(start), e, limit); got != want {
				t.Errorf("Scan(%q, %q, %d) in txn = %q, want %q", start, end, limit, got, want)
			}
		}
		f("", "", 0, "0=0 a=1 b=20 bb=22 d=4 e=5")
		f("b", "d", 0, "b=20 bb=22")
		f("a", "", 3, "a=1 b=20 bb=22")
		f("c", "e", 0, "d=4")
		f("c", "d", 0, "")
		// Deleting a key written in this transaction and re-setting a deleted one.
		if err := tx.Delete([]byte("bb")); err != nil {
			return err
		}
		if err := tx.Set([]byte("c"), []byte("30")); err != nil {
			return err
		}
		f("b", "", 0, "b=20 c=30 d=4 e=5")
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := viewScan(t, s, "", "", 0); got != "0=0 a=1 b=20 c=30 d=4 e=5" {
		t.Fatalf("after commit: %q", got)
	}
}

func testSnapshotRead(t *testing.T, s store.Store) {
	set(t, s, "k", "old", "gone", "here")
	started := make(chan struct{})
	committed := make(chan error, 1)
	err := s.View(context.Background(), func(tx store.Txn) error {
		if v, err := tx.Get([]byte("k")); err != nil || string(v) != "old" {
			return fmt.Errorf("first read = %q, %v", v, err)
		}
		close(started)
		go func() {
			<-started
			committed <- s.Update(context.Background(), func(tx store.Txn) error {
				return errors.Join(tx.Set([]byte("k"), []byte("new")),
					tx.Delete([]byte("gone")), tx.Set([]byte("added"), []byte("x")))
			})
		}()
		select {
		case err := <-committed:
			if err != nil {
				return fmt.Errorf("concurrent Update: %w", err)
			}
		case <-time.After(10 * time.Second):
			return errors.New("a commit did not finish while a View was open")
		}
		if v, err := tx.Get([]byte("k")); err != nil || string(v) != "old" {
			return fmt.Errorf("read after a later commit = %q, %v; want old", v, err)
		}
		if got := scan(t, tx, nil, nil, 0); got != "gone=here k=old" {
			return fmt.Errorf("scan after a later commit = %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := viewScan(t, s, "", "", 0); got != "added=x k=new" {
		t.Fatalf("new View = %q", got)
	}
}

// increment adds d to the u64 counter at key and counts fn runs.
func increment(s store.Store, key []byte, d uint64, runs *atomic.Int64) error {
	return s.Update(context.Background(), func(tx store.Txn) error {
		runs.Add(1)
		v, err := tx.Get(key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.Set(key, store.AppendUint64(nil, store.Uint64(v)+d))
	})
}

func counter(t *testing.T, s store.Store, key string) uint64 {
	t.Helper()
	return store.Uint64([]byte(get(t, s, key)))
}

func testNoLostUpdate(t *testing.T, s store.Store, cfg Config) {
	workers, each := cfg.HotWriters, cfg.HotIncrements
	var runs atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := increment(s, []byte("n"), 1, &runs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}
	if got := counter(t, s, "n"); got != uint64(workers*each) {
		t.Fatalf("counter = %d, want %d", got, workers*each)
	}
	t.Logf("%d commits took %d fn runs", workers*each, runs.Load())
}

// testConflictingWritersRetried has writers move units between two keys
// concurrently; every Update must succeed and the sum must hold.
func testConflictingWritersRetried(t *testing.T, s store.Store) {
	set(t, s, "x", string(store.AppendUint64(nil, 1000)), "y", string(store.AppendUint64(nil, 1000)))
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := []byte("x"), []byte("y")
			if w%2 == 1 {
				from, to = to, from
			}
			for range each {
				err := s.Update(context.Background(), func(tx store.Txn) error {
					a, err := tx.Get(from)
					if err != nil {
						return err
					}
					b, err := tx.Get(to)
					if err != nil {
						return err
					}
					return errors.Join(tx.Set(from, store.AppendUint64(nil, store.Uint64(a)-1)),
						tx.Set(to, store.AppendUint64(nil, store.Uint64(b)+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("transfer: %v", err)
	}
	x, y := counter(t, s, "x"), counter(t, s, "y")
	if x+y != 2000 || x != 1000 {
		t.Fatalf("x=%d y=%d, want 1000 each (equal transfers both ways)", x, y)
	}
}

// testRetryRereads runs conflicting increments; whatever number of fn runs
// each commit took, the final value counts every commit exactly once, which
// holds only if a re-run fn re-reads instead of replaying its first read.
func testRetryRereads(t *testing.T, s store.Store) {
	const workers, each = 8, 25
	var runs atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := increment(s, []byte("r"), 3, &runs); err != nil {
					failed.Add(1)
					t.Errorf("increment: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return
	}
	if got := counter(t, s, "r"); got != 3*workers*each {
		t.Fatalf("counter = %d, want %d", got, 3*workers*each)
	}
	if r := runs.Load(); r < workers*each {
		t.Fatalf("fn ran %d times for %d commits", r, workers*each)
	} else {
		t.Logf("fn runs %d for %d commits", r, workers*each)
	}
}

func testFnErrorWritesNothing(t *testing.T, s store.Store) {
	set(t, s, "keep", "1")
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Txn) error {
		if err := tx.Set([]byte("new"), []byte("x")); err != nil {
			return err
		}
		if err := tx.Set([]byte("keep"), []byte("2")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("keep")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	if got := viewScan(t, s, "", "", 0); got != "keep=1" {
		t.Fatalf("after failed Update: %q, want keep=1", got)
	}
}

func testViewIsReadOnly(t *testing.T, s store.Store) {
	set(t, s, "a", "1")
	err := s.View(context.Background(), func(tx store.Txn) error {
		if err := tx.Set([]byte("a"), []byte("2")); !errors.Is(err, store.ErrReadOnly) {
			return fmt.Errorf("tx.Set in View = %v, want ErrReadOnly", err)
		}
		if err := tx.Delete([]byte("a")); !errors.Is(err, store.ErrReadOnly) {
			return fmt.Errorf("tx.Delete in View = %v, want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "a"); got != "1" {
		t.Fatalf("a = %q after View writes", got)
	}
}

func testContextCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte("a"), []byte("1")) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with cancelled ctx = %v", err)
	}
	err = s.View(ctx, func(tx store.Txn) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("View with cancelled ctx = %v", err)
	}
	// Cancelled while fn runs, before commit.
	ctx, cancel = context.WithCancel(context.Background())
	err = s.Update(ctx, func(tx store.Txn) error {
		err := tx.Set([]byte("b"), []byte("1"))
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update cancelled inside fn = %v", err)
	}
	if got := viewScan(t, s, "", "", 0); got != "" {
		t.Fatalf("cancelled Updates wrote %q", got)
	}
}

func testLargeValues(t *testing.T, s store.Store) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	err := s.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte("big"), big) })
	if err != nil {
		t.Fatalf("Set 1 MiB: %v", err)
	}
	err = s.View(context.Background(), func(tx store.Txn) error {
		v, err := tx.Get([]byte("big"))
		if err != nil {
			return err
		}
		if !bytes.Equal(v, big) {
			return fmt.Errorf("1 MiB value came back different (len %d)", len(v))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	huge := make([]byte, store.MaxValueSize+1)
	err = s.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte("huge"), huge) })
	if !errors.Is(err, store.ErrValueTooLarge) {
		t.Fatalf("Set over MaxValueSize = %v, want ErrValueTooLarge", err)
	}
	if got := get(t, s, "huge"); got != "<nil>" {
		t.Fatal("oversized value was stored")
	}
}

func testConcurrentDistinctKeys(t *testing.T, s store.Store) {
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.Update(context.Background(), func(tx store.Txn) error {
					k := fmt.Sprintf("w%02d/%03d", w, i)
					return tx.Set([]byte(k), []byte(k))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
	n := 0
	err := s.View(context.Background(), func(tx store.Txn) error {
		return tx.Scan(nil, nil, 0, func(k, v []byte) error {
			if !bytes.Equal(k, v) {
				return fmt.Errorf("key %s has value %s", k, v)
			}
			n++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*each {
		t.Fatalf("%d keys, want %d", n, workers*each)
	}
}

func testPrefixed(t *testing.T, s store.Store) {
	a := store.Prefixed(s, []byte("dep-a/"))
	b := store.Prefixed(s, []byte("dep-b/"))
	ff := store.Prefixed(s, []byte{0xff, 0xff})
	set(t, s, "dep-a", "outside", "dep-a.", "outside", "dep-b/", "b-root")
	set(t, a, "k1", "a1", "k2", "a2")
	set(t, b, "k1", "b1")
	set(t, ff, "k1", "f1", "\xff", "f2")
	if got := get(t, a, "k1"); got != "a1" {
		t.Fatalf("a/k1 = %q", got)
	}
	if got := get(t, b, "k2"); got != "<nil>" {
		t.Fatalf("b sees a's key k2: %q", got)
	}
	f := func(s store.Store, start, end string, limit int, want string) {
		t.Helper()
		if got := viewScan(t, s, start, end, limit); got != want {
			t.Errorf("Scan(%q, %q, %d) = %q, want %q", start, end, limit, got, want)
		}
	}
	f(a, "", "", 0, "k1=a1 k2=a2")
	f(a, "k2", "", 0, "k2=a2")
	f(a, "", "k2", 0, "k1=a1")
	f(b, "", "", 0, "=b-root k1=b1")
	f(ff, "", "", 0, "k1=f1 \xff=f2")
	err := a.Update(context.Background(), func(tx store.Txn) error {
		if err := tx.Delete([]byte("k1")); err != nil {
			return err
		}
		if got := scan(t, tx, nil, nil, 0); got != "k2=a2" {
			return fmt.Errorf("scan in prefixed txn = %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, b, "k1"); got != "b1" {
		t.Fatalf("delete in a removed b's key: %q", got)
	}
	if got := get(t, s, "dep-a/k2"); got != "a2" {
		t.Fatalf("underlying key dep-a/k2 = %q", got)
	}
}

func testClosed(t *testing.T, s store.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := s.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte("a"), []byte("1")) })
	if !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Update after Close = %v, want ErrClosed", err)
	}
	err = s.View(context.Background(), func(tx store.Txn) error { return nil })
	if !errors.Is(err, store.ErrClosed) {
		t.Fatalf("View after Close = %v, want ErrClosed", err)
	}
}
