package main

// The many-cores harness: M cores (each the real wiring, Main: checkout
// pipeline, reconciler, sweepers, refund worker, change-log writers, CDN
// purger) in one test process, each with a client-go KVStore of its own
// (region cache, oracle, latches, lock resolver) on one in-process TiKV
// cluster (client-go's mocktikv), all charging one in-process payment
// ledger (one provider account), behind an edge: a forwarder that spreads
// requests over the cores and moves to the next core when one does not
// answer, as edge/forward does. A core can be killed: from that instant
// nothing it does reaches the store (its RPCs fail, its store is closed),
// as when its process dies.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/log"
	"github.com/tikv/client-go/v2/testutils"
	tikvclient "github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/tikvrpc"
	"github.com/tikv/client-go/v2/util/async"
	pd "github.com/tikv/pd/client"
	"go.uber.org/zap/zapcore"

	"shopedge/core/payment"
	"shopedge/core/payment/testpay"
	"shopedge/store/tikv"
)

// Tokens of the harness's cores.
const (
	mcAdminToken    = "many-cores-admin-token"
	mcInternalToken = "many-cores-internal-token-0123"
	// mcDigestKey is every core's cart_digest_key and the edge's.
	mcDigestKey = "many-cores-cart-digest-key-0123"
)

// mockTiKV is one in-process TiKV cluster (one store, one region) that
// several clients share.
type mockTiKV struct {
	client tikvclient.Client
	pd     pd.Client
}

func newMockTiKV(tb testing.TB) *mockTiKV {
	tb.Helper()
	log.SetLevel(zapcore.ErrorLevel) // client-go's lock resolution and region logs
	client, cluster, pdClient, err := testutils.NewMockTiKV("", nil)
	if err != nil {
		tb.Fatalf("NewMockTiKV: %v", err)
	}
	testutils.BootstrapWithSingleStore(cluster)
	// Registered first, so it runs after every client is closed.
	tb.Cleanup(func() { _ = client.Close() })
	return &mockTiKV{client: client, pd: pdClient}
}

// connect returns a KVStore of its own on the cluster, as one core process
// has, whose RPCs go through the returned killableClient.
func (mc *mockTiKV) connect(tb testing.TB, latches uint) (*tikvclient.KVStore, *killableClient) {
	tb.Helper()
	kc := &killableClient{}
	hijack := func(c tikvclient.Client) tikvclient.Client { kc.Client = c; return kc }
	kvs, err := tikvclient.NewTestTiKVStore(mc.client, mc.pd, hijack, nil, latches)
	if err != nil {
		tb.Fatalf("NewTestTiKVStore: %v", err)
	}
	tb.Cleanup(func() { _ = kvs.Close() })
	return kvs, kc
}

// killableClient is one core's connection to the cluster: once dead, every
// request fails as if the process were gone. Close leaves the shared
// cluster alone.
type killableClient struct {
	tikvclient.Client
	dead atomic.Bool
	// fast: once dead, RPCs fail as cancelled calls, which client-go
	// gives up on at once (mcOptions.killFast).
	fast bool
}

var errCoreKilled = errors.New("the core was killed: connection refused")

// killedErr is what an RPC of a dead core returns.
func (c *killableClient) killedErr() error {
	if c.fast {
		return context.Canceled
	}
	return errCoreKilled
}

func (c *killableClient) SendRequest(ctx context.Context, addr string, req *tikvrpc.Request, timeout time.Duration) (*tikvrpc.Response, error) {
	if c.dead.Load() {
		return nil, c.killedErr()
	}
	return c.Client.SendRequest(ctx, addr, req, timeout)
}

func (c *killableClient) SendRequestAsync(ctx context.Context, addr string, req *tikvrpc.Request, cb async.Callback[*tikvrpc.Response]) {
	if c.dead.Load() {
		cb.Invoke(nil, c.killedErr())
		return
	}
	c.Client.SendRequestAsync(ctx, addr, req, cb)
}

func (c *killableClient) Close() error { return nil }

// mcOptions configures a harness cluster.
type mcOptions struct {
	cores int
	// args are extra flags of every core (e.g. -store.pessimistic).
	args []string
	// coreArgs, when set, returns extra flags of core i.
	coreArgs func(i int) []string
	// clock, when set, is every core's checkout and cart clock.
	clock func() time.Time
	// logs, when set, receives every core's log.
	logs io.Writer
	// killFast: a killed core's store calls fail as cancelled calls, so
	// its checkouts in flight end (with errors) at once, as its
	// connections would when its process dies. Without it they fail as
	// refused connections, which client-go retries with backoff for up
	// to ~80 s, holding the edge's requests to the dead core open.
	killFast bool
	// edge is the kind of edge in front of the cores (edgeRoundRobin,
	// edgeForward, edgeRouted, edgeRoutedFirst).
	edge string
}

// mcCluster is the harness: cores on one mock cluster, one ledger, one
// edge.
type mcCluster struct {
	tb     testing.TB
	tikv   *mockTiKV
	ledger *sharedLedger
	cores  []*mcCore
	edge   mcFrontEdge
	// paidBy maps each acknowledged paid order's charge id to the order,
	// over every sale audited.
	paidBy map[string]string
}

// mcCore is one core: its Main, its connection and its store.
type mcCore struct {
	i    int
	m    *Main
	kc   *killableClient
	st   *tikv.Store
	gw   *coreGateway
	dead atomic.Bool
	addr string
}

// newMCCluster starts o.cores cores and an edge in front of them.
func newMCCluster(tb testing.TB, o mcOptions) *mcCluster {
	tb.Helper()
	c := &mcCluster{tb: tb, tikv: newMockTiKV(tb), ledger: newSharedLedger(tb)}
	for i := range o.cores {
		c.cores = append(c.cores, c.startCore(i, o))
	}
	addrs := make([]string, len(c.cores))
	for i, k := range c.cores {
		addrs[i] = k.addr
	}
	c.edge = newFrontEdge(tb, o.edge, addrs)
	c.waitMembers(len(c.cores), 5*time.Second)
	return c
}

// waitMembers waits until every live core counts n live members: the
// steady state of a deployment whose cores have been up for a while.
func (c *mcCluster) waitMembers(n int, within time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(within)
	for _, k := range c.live() {
		for len(k.m.Cluster.Members()) != n {
			if time.Now().After(deadline) {
				c.tb.Fatalf("core %d sees members %v, want %d", k.i, k.m.Cluster.Members(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (c *mcCluster) startCore(i int, o mcOptions) *mcCore {
	tb := c.tb
	tb.Helper()
	m := NewMain()
	m.Stderr = io.Discard
	if o.logs != nil {
		m.Stderr = o.logs
	}
	args := append([]string{
		"-admin-token=" + mcAdminToken, "-internal-token=" + mcInternalToken,
		"-server.addr=127.0.0.1:0", "-log.level=error",
		"-store.backend=tikv", "-store.pd-endpoints=mocktikv",
		"-payment.gateways=[{name: testpay, kind: inprocess}]",
		"-cart-digest-key=" + mcDigestKey,
	}, o.args...)
	if o.coreArgs != nil {
		args = append(args, o.coreArgs(i)...)
	}
	ctx := context.Background()
	if err := m.ParseFlags(ctx, args); err != nil {
		tb.Fatalf("core %d: %v", i, err)
	}
	if o.clock != nil {
		m.Config.Checkout.Now = o.clock
		m.Config.Cart.Now = o.clock
	}
	sc := m.Config.Store
	kvs, kc := c.tikv.connect(tb, sc.LocalLatches)
	kc.fast = o.killFast
	st := tikv.New(kvs, sc.TiKVOptions())
	gw := &coreGateway{l: c.ledger}
	m.Backend = st
	m.Gateways = map[string]payment.Gateway{"testpay": gw}
	if err := m.Run(ctx); err != nil {
		tb.Fatalf("core %d: %v", i, err)
	}
	k := &mcCore{i: i, m: m, kc: kc, st: st, gw: gw, addr: m.Addr()}
	tb.Cleanup(func() {
		if !k.dead.Load() {
			_ = m.Close()
		}
	})
	return k
}

// kill ends core i as a crash would: from now on none of its RPCs reaches
// the cluster and its store is closed; then the calls in release, held on
// its gateway, return (their callers are gone, so they fail) and its
// goroutines are stopped (their last writes fail, so leases and claims it
// held stay as they were) and its listener closes.
func (c *mcCluster) kill(i int, release ...*held) {
	if !c.sever(i) {
		return
	}
	for _, h := range release {
		close(h.release)
	}
	c.closeCore(i)
}

// sever is the first half of kill: core i loses the store and its
// gateway; it reports false if the core was dead already.
func (c *mcCluster) sever(i int) bool {
	k := c.cores[i]
	if !k.dead.CompareAndSwap(false, true) {
		return false
	}
	k.kc.dead.Store(true)
	_ = k.st.Close()
	k.gw.kill()
	return true
}

// closeCore is the second half of kill: core i's goroutines stop and its
// listener closes.
func (c *mcCluster) closeCore(i int) { _ = c.cores[i].m.Close() }

// live returns the cores not killed.
func (c *mcCluster) live() []*mcCore {
	var out []*mcCore
	for _, k := range c.cores {
		if !k.dead.Load() {
			out = append(out, k)
		}
	}
	return out
}

// storeStats sums the TiKV stats of every core.
func (c *mcCluster) storeStats() tikv.Stats {
	var s tikv.Stats
	for _, k := range c.cores {
		x := k.st.Stats()
		s.Runs += x.Runs
		s.Commits += x.Commits
		s.Conflicts += x.Conflicts
		s.Undetermined += x.Undetermined
		s.AsyncCommits += x.AsyncCommits
		s.OnePCs += x.OnePCs
		s.Fallbacks += x.Fallbacks
	}
	return s
}

// errHeldCallAbandoned is what a call held on a killed core returns: its
// caller is gone.
var errHeldCallAbandoned = fmt.Errorf("the core died during the call: %w", payment.ErrGateway)

// sharedLedger is the provider account every core charges: testpay's
// in-process gateway, with a record of the calls made to it, by key.
type sharedLedger struct {
	tp *testpay.Gateway

	mu          sync.Mutex
	chargeCalls map[string]int             // attempt key → Charge calls
	orderOf     map[string]string          // charge id → order id
	refundKeys  map[string]map[string]bool // charge id → refund keys used
}

func newSharedLedger(tb testing.TB) *sharedLedger {
	tb.Helper()
	tp, err := testpay.New(testpay.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return &sharedLedger{tp: tp, chargeCalls: map[string]int{}, orderOf: map[string]string{}, refundKeys: map[string]map[string]bool{}}
}

// held is a gateway call made to wait: arrived is closed when the call is
// waiting (after doing its work at the gateway when after is set), and it
// returns once release is closed.
type held struct {
	op      string
	after   bool
	arrived chan struct{}
	release chan struct{}
}

// coreGateway is one core's client of the shared account. hold makes its
// next call of one kind wait.
type coreGateway struct {
	l    *sharedLedger
	mu   sync.Mutex
	next *held
	dead atomic.Bool
}

// hold makes the next call of op ("charge", "lookup", "refund") on this
// core wait, after doing its work at the gateway when after is set.
func (g *coreGateway) hold(op string, after bool) *held {
	h := &held{op: op, after: after, arrived: make(chan struct{}), release: make(chan struct{})}
	g.mu.Lock()
	g.next = h
	g.mu.Unlock()
	return h
}

func (g *coreGateway) take(op string) *held {
	g.mu.Lock()
	defer g.mu.Unlock()
	if h := g.next; h != nil && h.op == op {
		g.next = nil
		return h
	}
	return nil
}

// wait blocks a held call; a call on a killed core then fails (its caller
// is gone, whatever the gateway did).
func (g *coreGateway) wait(h *held) error {
	close(h.arrived)
	<-h.release
	if g.dead.Load() {
		return errHeldCallAbandoned
	}
	return nil
}

func (g *coreGateway) kill() { g.dead.Store(true) }

// unhold drops a hold no call has taken yet.
func (g *coreGateway) unhold() {
	g.mu.Lock()
	g.next = nil
	g.mu.Unlock()
}

func (g *coreGateway) Charge(ctx context.Context, req payment.ChargeRequest) (payment.Charge, error) {
	h := g.take("charge")
	if h != nil && !h.after {
		if err := g.wait(h); err != nil {
			return payment.Charge{}, err
		}
	}
	g.l.mu.Lock()
	g.l.chargeCalls[req.Key]++
	g.l.mu.Unlock()
	ch, err := g.l.tp.Charge(ctx, req)
	if err == nil {
		g.l.mu.Lock()
		g.l.orderOf[ch.ID] = req.OrderID
		g.l.mu.Unlock()
	}
	if h != nil && h.after {
		if werr := g.wait(h); werr != nil {
			return payment.Charge{}, werr
		}
	}
	return ch, err
}

func (g *coreGateway) Lookup(ctx context.Context, req payment.ChargeRequest) (payment.LookupResult, error) {
	h := g.take("lookup")
	if h != nil && !h.after {
		if err := g.wait(h); err != nil {
			return payment.LookupResult{}, err
		}
	}
	r, err := g.l.tp.Lookup(ctx, req)
	if h != nil && h.after {
		if werr := g.wait(h); werr != nil {
			return payment.LookupResult{}, werr
		}
	}
	return r, err
}

func (g *coreGateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.Refund, error) {
	h := g.take("refund")
	if h != nil && !h.after {
		if err := g.wait(h); err != nil {
			return payment.Refund{}, err
		}
	}
	g.l.mu.Lock()
	if g.l.refundKeys[req.ChargeID] == nil {
		g.l.refundKeys[req.ChargeID] = map[string]bool{}
	}
	g.l.refundKeys[req.ChargeID][req.Key] = true
	g.l.mu.Unlock()
	r, err := g.l.tp.Refund(ctx, req)
	if h != nil && h.after {
		if werr := g.wait(h); werr != nil {
			return payment.Refund{}, werr
		}
	}
	return r, err
}
