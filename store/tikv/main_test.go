package tikv

import (
	"os"
	"testing"

	"github.com/pingcap/log"
	"go.uber.org/zap/zapcore"
)

// TestMain keeps client-go's informational logs (lock resolution, store
// state changes) out of test output.
func TestMain(m *testing.M) {
	log.SetLevel(zapcore.ErrorLevel)
	os.Exit(m.Run())
}
