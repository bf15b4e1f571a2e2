// Package varnish finds Debian's varnishd and prepares a Varnish in front
// of shopedge edges for the end-to-end tests and the bench: the VCL comes
// from configs/varnish.vcl through scripts/varnish-vcl.sh, the same path
// `make cluster` uses, so what is tested is what users copy.
package varnish

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Packages are the Debian packages that provide varnishd and the xkey
// vmod; `make test` installs them with apt-get when it can.
const Packages = "varnish varnish-modules"

// ErrMissing is wrapped by Find when varnishd or the xkey vmod is not
// installed.
var ErrMissing = errors.New("varnish is not installed")

// Find returns the path of varnishd. It looks on PATH, then in /usr/sbin
// (not on a normal user's PATH on Debian).
func Find() (string, error) {
	if p, err := exec.LookPath("varnishd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/varnishd", "/usr/local/sbin/varnishd"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no varnishd on PATH or in /usr/sbin; install the Debian packages %q (make test does so with apt-get when it runs as root or with sudo)", ErrMissing, Packages)
}

// Options configure one generated VCL.
type Options struct {
	// Root is the repository root (configs/ and scripts/ live there).
	Root string
	// Edges are the edges' host:port addresses.
	Edges []string
	// Purgers are the addresses (IPv4 or CIDR) allowed to PURGE.
	Purgers []string
	// ProbeInterval is how often each edge's /readyz is probed (0: 1s).
	ProbeInterval time.Duration
}

// WriteVCL generates the VCL for o with scripts/varnish-vcl.sh into
// dir/shopedge.vcl and returns its path.
func WriteVCL(dir string, o Options) (string, error) {
	iv := o.ProbeInterval
	if iv <= 0 {
		iv = time.Second
	}
	cmd := exec.Command("bash", filepath.Join(o.Root, "scripts", "varnish-vcl.sh"))
	cmd.Env = append(os.Environ(),
		"EDGES="+strings.Join(o.Edges, " "),
		"PURGERS="+strings.Join(o.Purgers, " "),
		"PROBE_INTERVAL="+vclDuration(iv),
		"VCL_TEMPLATE="+filepath.Join(o.Root, "configs", "varnish.vcl"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/varnish-vcl.sh: %v: %s", err, errb.String())
	}
	path := filepath.Join(dir, "shopedge.vcl")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// vclDuration writes d as VCL does: whole seconds as "2s", else "250ms".
func vclDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// Check compiles the VCL at vclPath with varnishd -C. A missing xkey vmod
// is reported as ErrMissing naming the packages.
func Check(varnishd, workDir, vclPath string) error {
	out, err := exec.Command(varnishd, "-C", "-j", "none", "-n", workDir, "-f", vclPath).CombinedOutput()
	if err == nil {
		return nil
	}
	msg := string(out)
	if i := strings.Index(msg, "Message from VCC-compiler:"); i >= 0 {
		msg = msg[i:]
	}
	if strings.Contains(msg, "xkey") && strings.Contains(msg, "import") {
		return fmt.Errorf("%w: the xkey vmod is missing; install the Debian packages %q: %s", ErrMissing, Packages, msg)
	}
	return fmt.Errorf("varnishd cannot compile %s: %v: %s", vclPath, err, msg)
}

// Args returns the arguments of a varnishd in the foreground listening on
// listen, with its working directory workDir (created by varnishd), the
// VCL at vclPath and mem of cache memory. -j none keeps everything in the
// caller's user, so a root test's temporary directories stay readable.
func Args(workDir, listen, vclPath, mem string) []string {
	return []string{"-F", "-j", "none", "-n", workDir, "-a", listen, "-T", "127.0.0.1:0",
		"-f", vclPath, "-s", "malloc," + mem, "-p", "thread_pool_min=10", "-p", "thread_pools=1"}
}
