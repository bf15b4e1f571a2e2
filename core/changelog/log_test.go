package changelog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/store"
)

func newTestLog(t *testing.T, cfg Config) (*Log, store.Store) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := newTestStore(t)
	return New(st, cfg), st
}

func appendN(t *testing.T, l *Log, st store.Store, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := 0; i < n; i++ {
		err := st.Update(context.Background(), func(tx store.Txn) error {
			seq, err := l.Append(tx, &api.Event{Type: api.EventDelete, ID: "p"})
			if err == nil {
				seqs = append(seqs, seq)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		l.Notify()
	}
	return seqs
}

func TestAppendRead(t *testing.T) {
	l, st := newTestLog(t, DefaultConfig())
	ctx := context.Background()
	ch, err := l.Read(ctx, 0, 10)
	if err != nil || len(ch.Events) != 0 || ch.Last != 0 {
		t.Fatalf("empty log: %+v %v", ch, err)
	}
	seqs := appendN(t, l, st, 5)
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("seqs %v", seqs)
		}
	}
	ch, err = l.Read(ctx, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Events) != 3 || ch.Events[0].Seq != 3 || ch.Last != 5 {
		t.Fatalf("read after 2: %+v", ch)
	}
	ch, err = l.Read(ctx, 0, 2)
	if err != nil || len(ch.Events) != 2 || ch.Last != 2 {
		t.Fatalf("limited read: %+v %v", ch, err)
	}
	if _, err := l.Read(ctx, 9, 0); !errors.Is(err, ErrGone) {
		t.Fatalf("read past the end: %v, want ErrGone", err)
	}
}

func TestSeqStrictlyIncreasingConcurrent(t *testing.T) {
	l, st := newTestLog(t, DefaultConfig())
	const writers, each = 8, 25
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var seq uint64
				err := st.Update(context.Background(), func(tx store.Txn) error {
					var err error
					seq, err = l.Append(tx, &api.Event{Type: api.EventPurgeAll})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[seq] {
					t.Errorf("seq %d assigned twice", seq)
				}
				seen[seq] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ch, err := l.Read(context.Background(), 0, writers*each)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Events) != writers*each {
		t.Fatalf("got %d events, want %d", len(ch.Events), writers*each)
	}
	for i, ev := range ch.Events {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}
}

func TestRetentionGone(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetentionEvents = 5
	l, st := newTestLog(t, cfg)
	appendN(t, l, st, 12)
	ctx := context.Background()
	// Events 8..12 retained: after=7 is fine, after=6 is gone.
	ch, err := l.Read(ctx, 7, 0)
	if err != nil || len(ch.Events) != 5 || ch.Events[0].Seq != 8 {
		t.Fatalf("after=7: %+v %v", ch, err)
	}
	if _, err := l.Read(ctx, 6, 0); !errors.Is(err, ErrGone) {
		t.Fatalf("after=6: %v, want ErrGone", err)
	}
	if _, err := l.Wait(ctx, 0, time.Millisecond); !errors.Is(err, ErrGone) {
		t.Fatalf("wait after=0: %v, want ErrGone", err)
	}
	if api.Status(api.ErrorCode(ErrGone)) != 410 {
		t.Fatal("ErrGone must render as 410")
	}
	// The trimmed keys are really gone.
	err = st.View(ctx, func(tx store.Txn) error {
		n := 0
		err := tx.Scan([]byte(store.NSLog), store.PrefixEnd([]byte(store.NSLog)), 0, func(_, _ []byte) error { n++; return nil })
		if n != 5 {
			t.Errorf("%d log keys stored, want 5", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWaitWakesOnNotify(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PollInterval = time.Hour // only Notify can wake it
	l, st := newTestLog(t, cfg)
	appendN(t, l, st, 1)
	done := make(chan *api.Changes, 1)
	start := time.Now()
	go func() {
		ch, err := l.Wait(context.Background(), 1, 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- ch
	}()
	// Wait until the reader is blocked, then append.
	for i := 0; i < 1000; i++ {
		l.mu.Lock()
		n := l.waiters
		l.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	appendN(t, l, st, 1)
	select {
	case ch := <-done:
		if len(ch.Events) != 1 || ch.Events[0].Seq != 2 {
			t.Fatalf("woke with %+v", ch)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("wait did not wake on notify")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("wait did not wake on notify")
	}
}

func TestWaitPollsOtherWriters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PollInterval = 5 * time.Millisecond
	l, st := newTestLog(t, cfg)
	other := New(st, cfg) // another process's log on the same store
	done := make(chan *api.Changes, 1)
	go func() {
		ch, _ := l.Wait(context.Background(), 0, 20*time.Second)
		done <- ch
	}()
	time.Sleep(20 * time.Millisecond)
	appendN(t, other, st, 1) // notifies other, not l
	select {
	case ch := <-done:
		if len(ch.Events) != 1 {
			t.Fatalf("woke with %+v", ch)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("wait did not poll the store")
	}
}

func TestWaitTimesOut(t *testing.T) {
	l, st := newTestLog(t, DefaultConfig())
	appendN(t, l, st, 3)
	start := time.Now()
	ch, err := l.Wait(context.Background(), 3, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Events) != 0 || ch.Last != 3 {
		t.Fatalf("timeout answer %+v", ch)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("returned after %s, before maxWait", d)
	}
	// Events already there: answers at once.
	ch, err = l.Wait(context.Background(), 1, 10*time.Second)
	if err != nil || len(ch.Events) != 2 {
		t.Fatalf("wait with events: %+v %v", ch, err)
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mut func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		mut(&c)
		err := c.Validate()
		if err == nil || !contains(err.Error(), field) {
			t.Fatalf("Validate() = %v, want error naming %s", err, field)
		}
	}
	f(func(c *Config) { c.RetentionEvents = 0 }, "retention_events")
	f(func(c *Config) { c.PollInterval = 0 }, "poll_interval")
	f(func(c *Config) { c.MaxWait = 0 }, "max_wait")
	f(func(c *Config) { c.MaxLimit = 0 }, "max_limit")
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}

func TestAppendEncoded(t *testing.T) {
	l, st := newTestLog(t, DefaultConfig())
	err := st.Update(context.Background(), func(tx store.Txn) error {
		_, err := l.AppendEncoded(tx, &api.Event{Type: api.EventUpsert, ID: "p1"}, []byte(`{"id":"p1","name":"N","popularity":0,"skus":[]}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := l.Read(context.Background(), 0, 0)
	if err != nil || len(ch.Events) != 1 {
		t.Fatalf("%+v %v", ch, err)
	}
	ev := ch.Events[0]
	if ev.Seq != 1 || ev.ID != "p1" || ev.Product == nil || ev.Product.Name != "N" {
		t.Fatalf("event %+v", ev)
	}
}
