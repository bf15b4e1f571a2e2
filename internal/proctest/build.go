package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Builder builds main packages once per test process into a temporary
// directory of its own. A test package keeps one in a variable and calls
// Remove from TestMain after m.Run.
type Builder struct {
	pkgs []string

	once sync.Once
	dir  string
	err  error
}

// NewBuilder returns a Builder of the main packages pkgs (import paths such
// as "shopedge/core"); each binary is named after its last path element.
// Nothing is built before the first Path.
func NewBuilder(pkgs ...string) *Builder { return &Builder{pkgs: pkgs} }

// Path builds every package of b on its first call and returns the path of
// the binary name, failing tb when the build failed.
func (b *Builder) Path(tb testing.TB, name string) string {
	tb.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		tb.Fatal(b.err)
	}
	for _, p := range b.pkgs {
		if path.Base(p) == name {
			return filepath.Join(b.dir, name)
		}
	}
	tb.Fatalf("BUG: no binary %q among %v", name, b.pkgs)
	return ""
}

func (b *Builder) build() {
	if b.dir, b.err = os.MkdirTemp("", "shopedge-bin"); b.err != nil {
		return
	}
	for _, p := range b.pkgs {
		out, err := exec.Command("go", "build", "-o", filepath.Join(b.dir, path.Base(p)), p).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", p, err, out)
			return
		}
	}
}

// Remove deletes the built binaries. b must not be used afterwards.
func (b *Builder) Remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// CleanEnv is the test's environment without any SHOPEDGE_ or TESTPAY_
// variable, then extra ("KEY=value" each).
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHOPEDGE_") && !strings.HasPrefix(kv, "TESTPAY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
