// Package cluster lets the cores of one deployment find each other through
// the store, and sends each hot SKU's checkouts to one of them.
//
// Every core combines its concurrent checkouts into one store transaction
// per batch (checkout's group commit). Several cores selling one SKU put
// several batches on its stock record at once: on TiKV they conflict and
// are re-run (optimistic), or queue on the record's lock (pessimistic).
// Measured on client-go's in-process cluster (core's BenchmarkManyCores,
// hot-all: every buyer of one SKU paying), four optimistic cores sold at
// 0.17–0.19 × one core's rate, with 0.26–0.32 conflicts per checkout;
// pessimistic ones at 0.01 ×. So a SKU is owned by one core, chosen by
// rendezvous hashing of (core address, SKU) over the live cores
// (internal/rendezvous), and that core's one pipeline batches all of its
// checkouts, conflict-free.
//
// Two tiers route. The edges send a checkout whose cart digest verifies
// straight to the owner of its cart's hottest SKU, by the same hash over
// the core addresses they list (edge/forward), and name that SKU
// (api.HeaderRouteSKU): the owner runs it without reading the cart. The
// cores route what lands elsewhere (no digest, an edge whose list differs
// from the cores' advertised addresses, a core that joined or died): a
// SKU that is hot at a core goes to its owner over HTTP and the answer
// comes back. Measured (hot-all, medians of 3, README "Scaling the
// core", bench/results/manycores-20261207-edge-routing.md), four cores
// sold the hot SKU at 0.67 × one core's rate routed by the cores alone
// (0.73 of the checkouts took a second hop, ~200 CPU-µs each; 0.017
// conflicts per checkout) and at 0.81 × routed by the edge (no second
// hop, 0 conflicts); mixed carts at 0.35 × and 0.62 ×. In longer sales
// (10,000 buyers) edge-routed M = 4 sold at 0.99 × M = 1 (median of six
// pairs), the cores' routing alone at 0.62–0.78 ×.
//
// Membership: each core writes meta/cores/{id} = {addr, until_ms} every
// Heartbeat, valid for MemberLease, and reads the others' in the same
// transaction. A core that dies drops out after MemberLease; a core that
// stops deletes its record. Cores may briefly disagree about who is live
// (a core joining or leaving): a SKU is then sold by two cores for a
// moment, which costs conflicts, never correctness: every checkout runs in
// the store's transactions wherever it runs.
//
// Hotness is local: a core counts the checkouts arriving at it per SKU
// and those under way (reading each cart's SKUs once it takes HotRate
// checkouts a second, or HotConcurrency at once, in all), and a SKU with
// HotRate a second or more, or HotConcurrency or more in flight, is hot
// there. In-flight counting catches the SKU whose rate contention has
// already cut (pessimistic cores queued on its lock each saw fewer than
// HotRate a second, so rate alone never routed it). Every core
// computes the same owner, so they agree on where a hot SKU goes without
// talking. A checkout that was handed over carries HeaderForwardedBy and is
// never handed on again; when the owner cannot be reached, the checkout
// runs where it arrived.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"shopedge/internal/rendezvous"
	"shopedge/store"
)

// HeaderForwardedBy marks a checkout one core handed to the owner of its
// hot SKU (the value is the sender's member id): the receiver runs it.
const HeaderForwardedBy = "X-Shopedge-Forwarded-By"

// CartSKUs returns the SKUs of cart id (an error when it cannot be read:
// the checkout then runs where it arrived and answers for itself).
type CartSKUs func(ctx context.Context, id string) ([]string, error)

// Cluster is one core's membership and checkout router. It is safe for
// concurrent use; Start begins its heartbeat, Close ends it.
type Cluster struct {
	st       store.Store
	cfg      Config
	log      zerolog.Logger
	cartSKUs CartSKUs
	timeout  time.Duration // of one handed-over checkout

	id   string
	addr atomic.Pointer[string]
	live atomic.Pointer[[]member] // sorted by id; includes this core
	heat *heat

	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient
	down    map[string]time.Time // peer address → skipped until

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	forwarded, forwardErrors, received *metrics.Counter
	// checkouts an edge routed to this core (api.HeaderRouteSKU) that
	// this core owns, and that another core owns in this core's view
	edgeRouted, edgeMisrouted *metrics.Counter
}

// New returns a core's cluster membership on st (which must be the
// deployment's prefixed store). cartSKUs reads a cart's SKUs; timeout
// bounds one handed-over checkout (the owner's longest checkout and a
// margin). Its metrics go to ms (nil: none exported).
func New(st store.Store, cfg Config, log zerolog.Logger, ms *metrics.Set, cartSKUs CartSKUs, timeout time.Duration) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	c := &Cluster{
		st: st, cfg: cfg, log: log, cartSKUs: cartSKUs, timeout: timeout,
		id: newMemberID(), heat: newHeat(),
		clients: map[string]*fasthttp.HostClient{}, down: map[string]time.Time{},
		forwarded:     ms.GetOrCreateCounter(`shopedge_cluster_checkouts_forwarded_total`),
		forwardErrors: ms.GetOrCreateCounter(`shopedge_cluster_forward_errors_total`),
		received:      ms.GetOrCreateCounter(`shopedge_cluster_checkouts_received_total`),
		edgeRouted:    ms.GetOrCreateCounter(`shopedge_cluster_checkouts_edge_routed_total{owner="self"}`),
		edgeMisrouted: ms.GetOrCreateCounter(`shopedge_cluster_checkouts_edge_routed_total{owner="other"}`),
	}
	empty := []member{}
	c.live.Store(&empty)
	ms.GetOrCreateGauge(`shopedge_cluster_members`, func() float64 { return float64(len(c.Members())) })
	ms.GetOrCreateGauge(`shopedge_cluster_hot_skus`, func() float64 { return float64(c.heat.hot(time.Now().Unix(), c.cfg.HotRate)) })
	return c, nil
}

// ID returns this core's member id.
func (c *Cluster) ID() string { return c.id }

// newMemberID names this process: host, pid and a random part.
func newMemberID() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Start registers this core, reachable at listenAddr (or the configured
// advertise_addr), and renews the registration every Heartbeat until
// Close. A failed first heartbeat is logged and retried.
func (c *Cluster) Start(listenAddr string) {
	addr := advertised(c.cfg.AdvertiseAddr, listenAddr)
	c.addr.Store(&addr)
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if err := c.heartbeat(ctx); err != nil {
		c.log.Warn().Err(err).Msg("cannot register in the cluster yet")
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(c.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := c.heartbeat(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn().Err(err).Msg("cluster heartbeat failed")
			}
		}
	}()
}

// advertised is the address other cores reach this one at.
func advertised(cfgAddr, listen string) string {
	if cfgAddr != "" {
		return cfgAddr
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			return net.JoinHostPort(h, port)
		}
	}
	return listen
}

// Close stops the heartbeat and deletes this core's record, so the others
// drop it at once (its hot SKUs move to them). Calling it again does
// nothing.
func (c *Cluster) Close() {
	c.once.Do(func() {
		if c.cancel == nil {
			return
		}
		c.cancel()
		c.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.st.Update(ctx, func(tx store.Txn) error { return tx.Delete(memberKey(c.id)) }); err != nil {
			c.log.Warn().Err(err).Msg("cannot leave the cluster; the others drop this core when its lease ends")
		}
		c.mu.Lock()
		for _, hc := range c.clients {
			hc.CloseIdleConnections()
		}
		c.mu.Unlock()
	})
}

// member is a core's record at meta/cores/{id}.
type member struct {
	ID      string `json:"-"`
	Addr    string `json:"addr"`
	UntilMS int64  `json:"until_ms"`
}

var membersPrefix = []byte(store.NSMeta + "cores/")

func memberKey(id string) []byte { return append(slices.Clip(membersPrefix), id...) }

// heartbeat renews this core's record and reads the live members; records
// expired ten leases ago are deleted.
func (c *Cluster) heartbeat(ctx context.Context) error {
	now := time.Now()
	self := member{ID: c.id, Addr: *c.addr.Load(), UntilMS: now.Add(c.cfg.MemberLease).UnixMilli()}
	rec, err := json.Marshal(self)
	if err != nil {
		return err
	}
	staleBefore := now.Add(-10 * c.cfg.MemberLease).UnixMilli()
	var live []member
	err = c.st.Update(ctx, func(tx store.Txn) error {
		live = append(live[:0], self)
		var stale [][]byte
		err := tx.Scan(membersPrefix, store.PrefixEnd(membersPrefix), 0, func(k, v []byte) error {
			var m member
			if json.Unmarshal(v, &m) != nil {
				return nil
			}
			m.ID = string(k[len(membersPrefix):])
			switch {
			case m.ID == c.id:
			case m.UntilMS > now.UnixMilli():
				live = append(live, m)
			case m.UntilMS < staleBefore:
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Set(memberKey(c.id), rec)
	})
	if err != nil {
		return fmt.Errorf("cannot renew cluster membership: %w", err)
	}
	slices.SortFunc(live, func(a, b member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	c.live.Store(&live)
	return nil
}

// Members returns the addresses of the live cores, this one included,
// in member id order.
func (c *Cluster) Members() []string {
	now := time.Now().UnixMilli()
	var out []string
	for _, m := range *c.live.Load() {
		if m.ID == c.id || m.UntilMS > now {
			out = append(out, m.Addr)
		}
	}
	return out
}

// owner returns the live core that owns sku: the highest rendezvous
// score of (member address, sku) (internal/rendezvous). Every core with the
// same members picks the same one, and so does an edge listing the same
// addresses (edge/forward), so the edge can send a hot SKU's checkouts
// straight to it; when a core leaves, only its SKUs move.
func (c *Cluster) owner(sku string) member {
	now := time.Now().UnixMilli()
	var best member
	var bestScore uint64
	for _, m := range *c.live.Load() {
		if m.ID != c.id && m.UntilMS <= now {
			continue
		}
		s := rendezvous.Score(m.Addr, sku)
		if best.ID == "" || s > bestScore {
			best, bestScore = m, s
		}
	}
	return best
}

// errNoAnswer is a handed-over checkout that the owner did not answer.
var errNoAnswer = errors.New("the owning core did not answer")
