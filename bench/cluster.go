package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// ClusterConfig says how a scenario starts the real testpay, core and edge.
// Env and Args entries are templates: {addr} is the process's own listen
// address, {core} the core's address, {testpay} testpay's, {data} a fresh
// data directory, {token} the admin token, {internal} the core's internal
// token and {paykey} testpay's secret key.
type ClusterConfig struct {
	// CoreBin, EdgeBin and TestpayBin are the binaries; empty builds
	// ./core, ./edge and ./core/payment/testpay/cmd/testpay from ModuleDir
	// into the work directory.
	CoreBin    string   `yaml:"core_bin"`
	EdgeBin    string   `yaml:"edge_bin"`
	TestpayBin string   `yaml:"testpay_bin"`
	ModuleDir  string   `yaml:"module_dir"`
	CoreEnv    []string `yaml:"core_env"`
	CoreArgs   []string `yaml:"core_args"`
	EdgeEnv    []string `yaml:"edge_env"`
	EdgeArgs   []string `yaml:"edge_args"`
	TestpayEnv []string `yaml:"testpay_env"`
	// NoTestpay starts no testpay process (the core then needs a payment
	// configuration of its own, e.g. the in-process gateway).
	NoTestpay bool `yaml:"no_testpay"`
	// AdminToken is the Bearer token of the core's admin API; default the
	// SHOPEDGE_ADMIN_TOKEN variable, else "bench-admin-token".
	AdminToken string `yaml:"admin_token"`
	// InternalToken is the core's internal token, given to both tiers;
	// default the SHOPEDGE_INTERNAL_TOKEN variable, else one made up.
	InternalToken string `yaml:"internal_token"`
	// WorkDir holds binaries, data and logs; empty makes a temporary
	// directory removed by Close.
	WorkDir string `yaml:"work_dir"`
	// ReadyTimeout bounds the wait for /readyz (an edge loading a large
	// catalog needs longer).
	ReadyTimeout time.Duration `yaml:"ready_timeout"`
	// ImportTimeout bounds one catalog import.
	ImportTimeout time.Duration `yaml:"import_timeout"`
}

// DefaultClusterConfig configures the binaries through their SHOPEDGE_*
// variables (unknown variables are ignored, unlike unknown flags).
func DefaultClusterConfig() ClusterConfig {
	tok := os.Getenv("SHOPEDGE_ADMIN_TOKEN")
	if tok == "" {
		tok = "bench-admin-token"
	}
	internal := os.Getenv("SHOPEDGE_INTERNAL_TOKEN")
	if internal == "" {
		internal = "bench-internal-token-0123456789"
	}
	return ClusterConfig{
		ModuleDir: ".",
		CoreEnv: []string{
			"SHOPEDGE_SERVER_ADDR={addr}", "SHOPEDGE_STORE_PATH={data}/core.db",
			"SHOPEDGE_ADMIN_TOKEN={token}", "SHOPEDGE_INTERNAL_TOKEN={internal}", "SHOPEDGE_LOG_LEVEL=warn",
			"SHOPEDGE_CART_DIGEST_KEY=" + benchDigestKey,
			"TESTPAY_SECRET_KEY={paykey}",
			`SHOPEDGE_PAYMENT_GATEWAYS=[{name: testpay, url: "http://{testpay}", key_env: TESTPAY_SECRET_KEY}]`,
		},
		TestpayEnv: []string{
			"TESTPAY_SERVER_ADDR={addr}", "TESTPAY_LEDGER={data}/testpay.ledger",
			"TESTPAY_SECRET_KEY={paykey}", "TESTPAY_LOG_LEVEL=warn",
		},
		EdgeEnv: append([]string{
			"SHOPEDGE_SERVER_ADDR={addr}", "SHOPEDGE_CORE_ADDRS={core}", "SHOPEDGE_FORWARD_ADDRS={core}",
			"SHOPEDGE_ADMIN_TOKEN={token}", "SHOPEDGE_INTERNAL_TOKEN={internal}", "SHOPEDGE_LOG_LEVEL=warn",
			"SHOPEDGE_CART_DIGEST_KEY=" + benchDigestKey,
		}, NoClientLimits...),
		AdminToken:    tok,
		InternalToken: internal,
		ReadyTimeout:  60 * time.Second,
		ImportTimeout: 10 * time.Minute,
	}
}

// NoClientLimits turns the edge's per-client budgets off: a load
// generator sends every request from one address, which the budgets of
// one shopper would stop at once. The flood scenario turns them back on.
var NoClientLimits = []string{
	"SHOPEDGE_FORWARD_LIMITS_CLIENT_RATE=0", "SHOPEDGE_FORWARD_LIMITS_CART_RATE=0",
	"SHOPEDGE_FORWARD_LIMITS_CHECKOUTS_PER_CART=0", "SHOPEDGE_FORWARD_LIMITS_FAILED_PAYMENTS_PER_CLIENT=0",
	"SHOPEDGE_FORWARD_LIMITS_FAILED_PAYMENTS_PER_CART=0",
}

// Validate reports the first invalid field of c.
func (c *ClusterConfig) Validate() error {
	switch {
	case c.AdminToken == "":
		return errors.New("admin_token: required")
	case c.ReadyTimeout <= 0:
		return fmt.Errorf("ready_timeout: must be > 0, got %s", c.ReadyTimeout)
	case c.ImportTimeout <= 0:
		return fmt.Errorf("import_timeout: must be > 0, got %s", c.ImportTimeout)
	case c.CoreBin == "" && c.ModuleDir == "", c.EdgeBin == "" && c.ModuleDir == "",
		c.TestpayBin == "" && !c.NoTestpay && c.ModuleDir == "":
		return errors.New("module_dir: required to build binaries not given")
	}
	return nil
}

// benchDigestKey is the cart_digest_key of the scenarios' cores and edges.
const benchDigestKey = "bench-cart-digest-key-0123456789"

// testpayKey is the secret key of the scenarios' testpay processes.
const testpayKey = "sk_test_bench_testpay"

// Cluster is one testpay, one core and one edge started by a scenario,
// sharing a work directory. Close stops them and removes a temporary work
// directory.
type Cluster struct {
	cfg     ClusterConfig
	dir     string
	ownDir  bool
	n       int
	Core    *Proc
	Edge    *Proc
	Testpay *Proc
}

// NewCluster prepares the work directory and builds the binaries that were
// not given.
func NewCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot prepare cluster: %w", err)
	}
	c := &Cluster{cfg: cfg, dir: cfg.WorkDir}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "shopedge-bench-")
		if err != nil {
			return nil, fmt.Errorf("cannot create work dir: %w", err)
		}
		c.dir, c.ownDir = d, true
	}
	for _, b := range []struct {
		bin *string
		pkg string
	}{{&c.cfg.CoreBin, "./core"}, {&c.cfg.EdgeBin, "./edge"}, {&c.cfg.TestpayBin, "./core/payment/testpay/cmd/testpay"}} {
		if *b.bin != "" || (b.bin == &c.cfg.TestpayBin && c.cfg.NoTestpay) {
			continue
		}
		out := filepath.Join(c.dir, filepath.Base(b.pkg))
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		cmd.Dir = cfg.ModuleDir
		if msg, err := cmd.CombinedOutput(); err != nil {
			c.Close()
			return nil, fmt.Errorf("cannot build %s (is it wired?): %w\n%s", b.pkg, err, msg)
		}
		*b.bin = out
	}
	return c, nil
}

// Dir returns the work directory.
func (c *Cluster) Dir() string { return c.dir }

// expand fills the templates of env and args for one process.
func expand(tmpl []string, vars map[string]string) []string {
	out := make([]string, len(tmpl))
	for i, t := range tmpl {
		for k, v := range vars {
			t = strings.ReplaceAll(t, "{"+k+"}", v)
		}
		out[i] = t
	}
	return out
}

// SplitExtra splits extra settings into environment assignments (NAME=v)
// and flags (starting with '-').
func SplitExtra(extra []string) (env, args []string) {
	for _, e := range extra {
		if strings.HasPrefix(e, "-") {
			args = append(args, e)
		} else if e != "" {
			env = append(env, e)
		}
	}
	return env, args
}

// StartTestpay starts testpay on a fresh data directory (a new ledger) and
// waits for its /readyz.
func (c *Cluster) StartTestpay(ctx context.Context) error {
	if c.Testpay != nil {
		return errors.New("cannot start testpay: already running")
	}
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	c.n++
	data := filepath.Join(c.dir, "testpay-data-"+strconv.Itoa(c.n))
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("cannot create testpay data dir: %w", err)
	}
	vars := map[string]string{"addr": addr, "data": data, "token": c.cfg.AdminToken, "paykey": testpayKey}
	p, err := StartProc("testpay", c.cfg.TestpayBin, nil, expand(c.cfg.TestpayEnv, vars), filepath.Join(c.dir, "testpay-"+strconv.Itoa(c.n)+".log"))
	if err != nil {
		return err
	}
	p.Addr, c.Testpay = addr, p
	_, err = c.waitReady(ctx, p)
	return err
}

// StartCore starts a core on a fresh data directory, with extra settings
// (see SplitExtra) after the configured ones, and waits for its /readyz.
// It starts testpay first unless it runs or NoTestpay is set.
func (c *Cluster) StartCore(ctx context.Context, extra ...string) error {
	if c.Core != nil {
		return errors.New("cannot start core: already running")
	}
	if c.Testpay == nil && !c.cfg.NoTestpay {
		if err := c.StartTestpay(ctx); err != nil {
			return err
		}
	}
	payAddr := ""
	if c.Testpay != nil {
		payAddr = c.Testpay.Addr
	}
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	c.n++
	data := filepath.Join(c.dir, "core-data-"+strconv.Itoa(c.n))
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("cannot create core data dir: %w", err)
	}
	vars := map[string]string{"addr": addr, "data": data, "token": c.cfg.AdminToken, "internal": c.cfg.InternalToken, "core": addr, "testpay": payAddr, "paykey": testpayKey}
	xenv, xargs := SplitExtra(extra)
	env := append(expand(c.cfg.CoreEnv, vars), expand(xenv, vars)...)
	args := append(expand(c.cfg.CoreArgs, vars), expand(xargs, vars)...)
	p, err := StartProc("core", c.cfg.CoreBin, args, env, filepath.Join(c.dir, "core-"+strconv.Itoa(c.n)+".log"))
	if err != nil {
		return err
	}
	p.Addr, p.Token, c.Core = addr, c.cfg.AdminToken, p
	if _, err := c.waitReady(ctx, p); err != nil {
		return err
	}
	return nil
}

// StartEdge starts an edge following the running core and waits for its
// /readyz; it returns the cold start (process start → first /readyz 200).
func (c *Cluster) StartEdge(ctx context.Context, extra ...string) (time.Duration, error) {
	if c.Core == nil {
		return 0, errors.New("cannot start edge: no core")
	}
	if c.Edge != nil {
		return 0, errors.New("cannot start edge: already running")
	}
	addr, err := FreeAddr()
	if err != nil {
		return 0, err
	}
	c.n++
	data := filepath.Join(c.dir, "edge-data-"+strconv.Itoa(c.n))
	if err := os.MkdirAll(data, 0o755); err != nil {
		return 0, fmt.Errorf("cannot create edge data dir: %w", err)
	}
	vars := map[string]string{"addr": addr, "data": data, "token": c.cfg.AdminToken, "internal": c.cfg.InternalToken, "core": c.Core.Addr}
	xenv, xargs := SplitExtra(extra)
	env := append(expand(c.cfg.EdgeEnv, vars), expand(xenv, vars)...)
	args := append(expand(c.cfg.EdgeArgs, vars), expand(xargs, vars)...)
	p, err := StartProc("edge", c.cfg.EdgeBin, args, env, filepath.Join(c.dir, "edge-"+strconv.Itoa(c.n)+".log"))
	if err != nil {
		return 0, err
	}
	p.Addr, p.Token, c.Edge = addr, c.cfg.AdminToken, p
	return c.waitReady(ctx, p)
}

// waitReady polls p's /readyz every 20ms until it answers 200, p exits, or
// ReadyTimeout passes. It returns the time since p started.
func (c *Cluster) waitReady(ctx context.Context, p *Proc) (time.Duration, error) {
	url := "http://" + p.Addr + "/readyz"
	deadline := time.Now().Add(c.cfg.ReadyTimeout)
	hc := &http.Client{Timeout: time.Second}
	last := "no answer"
	for time.Now().Before(deadline) {
		if done, err := p.Exited(); done {
			return 0, fmt.Errorf("%s exited before ready (%v); log %s:\n%s", p.Name, err, p.LogPath, p.LogTail(2000))
		}
		resp, err := hc.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.Started), nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("%s: GET /readyz not 200 within %s (last: %s); log %s:\n%s",
		p.Name, c.cfg.ReadyTimeout, last, p.LogPath, p.LogTail(2000))
}

// StopEdge stops the edge, if any.
func (c *Cluster) StopEdge() error {
	if c.Edge == nil {
		return nil
	}
	err := c.Edge.Stop(15 * time.Second)
	c.Edge = nil
	return err
}

// Stop stops the edge, the core, then testpay.
func (c *Cluster) Stop() error {
	err := c.StopEdge()
	if c.Core != nil {
		err = errors.Join(err, c.Core.Stop(15*time.Second))
		c.Core = nil
	}
	if c.Testpay != nil {
		err = errors.Join(err, c.Testpay.Stop(15*time.Second))
		c.Testpay = nil
	}
	return err
}

// Close stops everything and removes a temporary work directory.
func (c *Cluster) Close() error {
	err := c.Stop()
	if c.ownDir {
		err = errors.Join(err, os.RemoveAll(c.dir))
	}
	return err
}

// admin sends an admin request to the core with the Bearer token and
// returns the status and body; want lists the acceptable statuses, any
// other is an error naming the route.
func (c *Cluster) admin(ctx context.Context, method, path, ctype string, body io.Reader, timeout time.Duration, want ...int) ([]byte, error) {
	if c.Core == nil {
		return nil, errors.New("no core running")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.Core.Addr+path, body)
	if err != nil {
		return nil, fmt.Errorf("cannot build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.AdminToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot %s %s on the core: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s %s answer: %w", method, path, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return b, nil
		}
	}
	return nil, RouteError("core", method, path, resp.StatusCode, b)
}

// RouteError describes an unexpected answer, calling out a missing route.
func RouteError(tier, method, path string, status int, body []byte) error {
	if len(body) > 300 {
		body = body[:300]
	}
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		return fmt.Errorf("%s answered %d to %s %s: route missing (not wired yet?) or object absent: %s",
			tier, status, method, path, bytes.TrimSpace(body))
	}
	return fmt.Errorf("%s answered %d to %s %s: %s", tier, status, method, path, bytes.TrimSpace(body))
}

// Import posts an NDJSON catalog to the core's POST /admin/v1/import.
func (c *Cluster) Import(ctx context.Context, ndjson io.Reader) ([]byte, error) {
	return c.admin(ctx, "POST", "/admin/v1/import", "application/x-ndjson", ndjson, c.cfg.ImportTimeout,
		http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent)
}

// SetStock sets a SKU's on-hand stock through PUT /admin/v1/stock/{sku}.
func (c *Cluster) SetStock(ctx context.Context, sku string, onHand int64) error {
	body, _ := json.Marshal(api.StockUpdate{OnHand: &onHand})
	_, err := c.admin(ctx, "PUT", "/admin/v1/stock/"+sku, "application/json", bytes.NewReader(body), 30*time.Second,
		http.StatusOK, http.StatusNoContent, http.StatusCreated)
	return err
}

// Stock reads a SKU's stock through GET /admin/v1/stock/{sku}.
func (c *Cluster) Stock(ctx context.Context, sku string) (*api.Stock, error) {
	b, err := c.admin(ctx, "GET", "/admin/v1/stock/"+sku, "", nil, 30*time.Second, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var s api.Stock
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cannot decode stock of %s: %w", sku, err)
	}
	return &s, nil
}

// Metrics returns the samples of the process's GET /metrics whose names
// (without labels) are in names, summed over labels.
func Metrics(ctx context.Context, p *Proc, names ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+p.Addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s metrics: %w", p.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s metrics: %w", p.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, RouteError(p.Name, "GET", "/metrics", resp.StatusCode, b)
	}
	return parseMetrics(b, names), nil
}

// parseMetrics sums the Prometheus text samples named in names.
func parseMetrics(b []byte, names []string) map[string]float64 {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name := line[:sp]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		if !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(line[sp+1:], 64); err == nil {
			out[name] += v
		}
	}
	return out
}
