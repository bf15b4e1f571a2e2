package sweep

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"shopedge/internal/proctest"
)

// Every runs passes on its interval, logs failures and removals, and stops
// when ctx ends.
func TestEvery(t *testing.T) {
	var logs proctest.SyncBuffer
	var runs atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, time.Millisecond, zerolog.New(&logs), "carts", func(context.Context) (int, error) {
			switch runs.Add(1) {
			case 1:
				return 0, errors.New("store unavailable")
			case 2:
				return 3, nil
			}
			return 0, nil
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not stop when ctx ended")
	}
	if runs.Load() < 3 {
		t.Fatalf("%d passes, want >= 3", runs.Load())
	}
	out := logs.String()
	if !strings.Contains(out, "store unavailable") || !strings.Contains(out, `"carts":3`) {
		t.Fatalf("logs: %s", out)
	}
}
