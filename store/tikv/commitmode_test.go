package tikv

import (
	"context"
	"fmt"
	"testing"

	"shopedge/store"
)

// TestCommitModesOnMock commits with async commit and 1PC asked for and
// checks that every commit is accounted for in Stats. It also records
// what client-go's in-process cluster does with them: mocktikv answers a
// prewrite without a commit timestamp (it implements neither async commit
// nor 1PC), so client-go falls back to two-phase commit every time. The
// benchmarks of many cores on that cluster therefore cannot show what the
// two options buy on a real cluster; the test fails if a future mock
// starts honouring them, so the numbers get measured again.
func TestCommitModesOnMock(t *testing.T) {
	for _, o := range []Options{{AsyncCommit: true}, {OnePC: true}, {AsyncCommit: true, OnePC: true}} {
		t.Run(fmt.Sprintf("async=%v,1pc=%v", o.AsyncCommit, o.OnePC), func(t *testing.T) {
			s := mustNew(t, o)
			const n = 5
			for i := range n {
				err := s.Update(context.Background(), func(tx store.Txn) error {
					return tx.Set(store.AppendUint64([]byte("mode/"), uint64(i)), []byte("v"))
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			st := s.Stats()
			if st.Commits != n || st.AsyncCommits+st.OnePCs+st.Fallbacks != n {
				t.Fatalf("commits not accounted for: %+v", st)
			}
			if st.Fallbacks != n {
				t.Fatalf("the mock cluster honoured async commit or 1PC (%+v): measure them again (core's many-cores benchmark)", st)
			}
		})
	}
	s := mustNew(t, Options{})
	if err := s.Update(context.Background(), func(tx store.Txn) error { return tx.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.AsyncCommits+st.OnePCs+st.Fallbacks != 0 {
		t.Fatalf("modes counted without being asked for: %+v", st)
	}
}
