package main

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// TestManyCoresKilled kills cores in the middle of work items and checks
// that the other cores finish every item once:
//
//   - core 0 dies after the gateway charged a buyer but before the order
//     was recorded paid (the checkout's own item): another core's
//     reconciler must find the order once its payment lease ends, look the
//     charge up and mark the order paid; replayed under its key, the
//     checkout answers 201 with that charge;
//   - core 1 dies holding a reservation whose charge never reached the
//     gateway: another core's reconciler or sweeper must release it (the
//     stock comes back), and no charge is ever made;
//   - then the reconciler of whichever surviving core claims one of those
//     orders first dies in the middle of its gateway lookup, claim held:
//     a third core must take the order over once the claim lapses.
//
// Meanwhile a hot-SKU sale runs through the edge. The books are checked
// from independent sources (audit: orders read back, stock records
// against the paid orders' lines, the gateway's ledger: one charge per
// attempt key, every charge paying one order or refunded), and the
// reconcilers' outcome counters, summed over every core dead or alive,
// show each item settled once. What it does not prove: a core that dies
// between two store writes of one transaction (TiKV's commit is atomic,
// and client-go's in-process cluster is not killed here), or a network
// partition where a core lives on without the store.
func TestManyCoresKilled(t *testing.T) {
	buyers := 120
	if raceEnabled {
		buyers = 24
	}
	var offset atomic.Int64 // the cores' clock runs ahead by this many ns
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)) }
	c := newMCCluster(t, mcOptions{cores: 4, clock: clock, args: []string{
		"-checkout.reconcile-interval=100ms", "-checkout.sweep-interval=100ms",
	}})
	lease := 2*c.cores[0].m.Config.Checkout.PaymentTimeout + 3*time.Second

	units := int64(buyers / 2)
	s := c.prepare(hotSale(buyers+2, units))
	answers := make([]mcAnswer, len(s.carts))

	// Victim 0: charged at the gateway, then core 0 dies.
	direct := func(k *mcCore, i int) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			answers[i] = c.checkout(c.coreClient(k), s, i)
		}()
		return done
	}
	h0 := c.cores[0].gw.hold("charge", true)
	d0 := direct(c.cores[0], 0)
	waitHeld(t, h0, "core 0's charge")
	c.kill(0, h0)
	<-d0
	// Victim 1: reserved, charge not yet sent, then core 1 dies.
	h1 := c.cores[1].gw.hold("charge", false)
	d1 := direct(c.cores[1], 1)
	waitHeld(t, h1, "core 1's charge")
	c.kill(1, h1)
	<-d1
	for i := range 2 {
		if answers[i].final() {
			t.Fatalf("victim %d got a final answer from a killed core: %d %s", i, answers[i].status, answers[i].body)
		}
	}

	// The sale goes on through the edge on the two cores left.
	c.runRange(s, answers, 2, len(s.carts), 16)

	// The first surviving reconciler to look a victim up dies with its
	// claim held.
	holds := map[int]*held{}
	for _, k := range c.live() {
		holds[k.i] = k.gw.hold("lookup", true)
	}
	// The reconciler's scan passes orders created two leases ago.
	advance(3 * lease)
	victim := -1
	deadline := time.After(20 * time.Second)
	for victim < 0 {
		for i, h := range holds {
			select {
			case <-h.arrived:
				victim = i
			default:
			}
		}
		if victim >= 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("no surviving reconciler looked a victim's charge up")
		case <-time.After(10 * time.Millisecond):
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, h := range holds {
		if i == victim {
			continue
		}
		c.cores[i].gw.unhold()
		wg.Add(1)
		go func() { // a hold taken before unhold goes on at once
			defer wg.Done()
			select {
			case <-h.arrived:
				close(h.release)
			case <-stop:
			}
		}()
	}
	c.kill(victim, holds[victim])
	t.Logf("killed core 0 (charged), core 1 (reserved) and core %d (reconciling)", victim)
	defer func() { close(stop); wg.Wait() }()

	// Replay every open checkout under its key, moving the clock past each
	// lease, until all have final answers.
	c.settle(s, answers, 30*time.Second, func() { advance(lease) })
	b := c.audit(s, answers)

	var o api.Order
	if answers[0].status != 201 || json.Unmarshal(answers[0].body, &o) != nil {
		t.Fatalf("victim 0 (charged when its core died): %d %s; want 201 with the order paid by that charge", answers[0].status, answers[0].body)
	}
	c.ledger.mu.Lock()
	orderOfCharge := c.ledger.orderOf[o.PaymentID]
	charges := 0
	for _, ch := range c.ledger.tp.Charges() {
		if c.ledger.orderOf[ch.ID] == o.ID {
			charges++
		}
	}
	c.ledger.mu.Unlock()
	if orderOfCharge != o.ID || charges != 1 {
		t.Fatalf("victim 0's order %s: charge %s is for order %q, %d charges for it; want its own and one", o.ID, o.PaymentID, orderOfCharge, charges)
	}
	if answers[1].status == 201 {
		t.Fatalf("victim 1 (never charged) answered 201: %s", answers[1].body)
	}
	outcome := map[string]float64{}
	for _, k := range c.cores {
		for _, r := range []string{"paid", "released", "refund", "settled_elsewhere"} {
			outcome[r] += promFloat(k.m, `shopedge_reconciler_outcomes_total{outcome="`+r+`"}`)
		}
	}
	// Victim 0 is marked paid by a reconciler or by its replayed checkout
	// (which resumes the attempt in doubt); victim 1 released by a
	// reconciler or a sweeper: neither twice, nothing refunded.
	if outcome["paid"] > 1 || outcome["released"] > 1 || outcome["refund"] != 0 {
		t.Fatalf("reconciler outcomes over every core %v: an item settled twice", outcome)
	}
	t.Logf("%d paid, %d sold out; victim 1 answered %d %s; reconciler outcomes %v; edge failovers %d",
		b.paid, b.soldOut, answers[1].status, answers[1].body, outcome, c.edge.Failovers())
}

// waitHeld waits until the held call h has arrived.
func waitHeld(t *testing.T, h *held, what string) {
	t.Helper()
	select {
	case <-h.arrived:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never arrived", what)
	}
}

// coreClient returns a client of core k alone (no edge).
func (c *mcCluster) coreClient(k *mcCore) *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: k.addr, MaxConns: 4, ReadTimeout: 40 * time.Second, MaxIdemponentCallAttempts: 1}
}

// runRange sends the checkouts of buyers [from, to) through the edge,
// concurrency at a time, into answers.
func (c *mcCluster) runRange(s *mcSale, answers []mcAnswer, from, to, concurrency int) {
	hc := c.edgeClient(concurrency)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				answers[i] = c.checkout(hc, s, i)
			}
		}()
	}
	wg.Wait()
}
