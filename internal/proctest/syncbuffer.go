package proctest

import (
	"bytes"
	"sync"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers, such as the
// loggers of a process run inside the test. Its zero value is empty and
// ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// WriteLine appends line and a newline as one write.
func (s *SyncBuffer) WriteLine(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(line)
	s.b.WriteByte('\n')
}

// String returns a copy of everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
