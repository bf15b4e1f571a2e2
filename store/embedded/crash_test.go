package embedded

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"shopedge/store"
)

// crashChildEnv names the database file when the test binary runs as the
// crash test's child.
const crashChildEnv = "SHOPEDGE_EMBEDDED_CRASH_CHILD"

// TestCrashChild is the child half of TestCrashKeepsAcknowledgedWrites: it
// writes keys from several goroutines forever and prints each key only after
// its Update returned nil. It does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the crash test's child")
	}
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	pid := os.Getpid()
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1_000_000; i++ {
				key := fmt.Sprintf("%d/%d/%d", pid, g, i)
				err := db.Update(context.Background(), func(tx store.Txn) error {
					return tx.Set([]byte(key), []byte(key))
				})
				if err != nil {
					fmt.Printf("ERR %v\n", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(out, key)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedWrites kill -9's a child process writing
// keys, three times, and checks after each restart that every key whose
// Update had returned is there and the file opens cleanly.
//
// What it proves and what it does not: the kill stops the process, not
// the machine, and the kernel's page cache survives it, so this test
// passes with fsync turned off too (Options.NoSync). It shows process-crash
// safety — no acknowledged write lost, no torn file, when the process dies
// at any point of a group commit — not power-loss safety, which rests on
// the fsync bbolt does at each commit and which no test here observes.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	total := 0
	for round := range 3 {
		acked := runCrashChild(t, path, 300+round*100)
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		err = db.View(context.Background(), func(tx store.Txn) error {
			for _, k := range acked {
				v, err := tx.Get([]byte(k))
				if err != nil || string(v) != k {
					return fmt.Errorf("acknowledged key %s: %q, %v", k, v, err)
				}
			}
			return nil
		})
		if cerr := db.Close(); cerr != nil {
			t.Fatalf("round %d: close: %v", round, cerr)
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		total += len(acked)
	}
	t.Logf("3 rounds, %d acknowledged keys all present", total)
}

// runCrashChild starts the child on path, reads at least n acknowledged keys
// (bounded in time), kills it with SIGKILL and returns every key it acked.
func runCrashChild(t *testing.T, path string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var acked []string
	deadline := time.After(30 * time.Second)
	killed := false
	for lines != nil {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if strings.HasPrefix(line, "ERR ") {
				_ = cmd.Process.Kill()
				t.Fatalf("child: %s", line)
			}
			if strings.Count(line, "/") == 2 {
				acked = append(acked, line)
			}
			if !killed && len(acked) >= n {
				_ = cmd.Process.Kill()
				killed = true
			}
		case <-deadline:
			if !killed {
				_ = cmd.Process.Kill()
				killed = true
			}
		}
	}
	if !killed {
		t.Fatalf("child exited before %d acks (got %d)", n, len(acked))
	}
	_ = cmd.Wait()
	return acked
}
