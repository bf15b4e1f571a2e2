package proctest

import (
	"fmt"
	"runtime"
	"testing"
)

// recordTB records the first failure and ends the calling goroutine, as
// testing.T's Fatal does.
type recordTB struct {
	testing.TB
	msg string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
