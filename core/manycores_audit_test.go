package main

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// saleBooks is what a settled sale came to, counted from the buyers'
// answers and the orders they name.
type saleBooks struct {
	paid, soldOut, declined int
	paidUnits               map[string]int64
}

// audit checks the books of a settled sale from sources independent of
// the stock records under test:
//
//   - every checkout has a final answer, and every order answered 201 is
//     there and paid when read back through the edge (GET with its token);
//   - units sold per SKU, counted from those orders, equal the stock
//     record's sold, never exceed on hand (oversell 0), and nothing stays
//     reserved;
//   - the gateway's ledger: every succeeded charge pays exactly one of
//     those orders or was refunded, every paid order's charge is in it,
//     no attempt key was charged twice and no charge refunded under two
//     keys (over every sale audited on the cluster so far).
func (c *mcCluster) audit(s *mcSale, answers []mcAnswer) saleBooks {
	tb := c.tb
	tb.Helper()
	b := saleBooks{paidUnits: map[string]int64{}}
	if c.paidBy == nil {
		c.paidBy = map[string]string{}
	}
	byCharge := c.paidBy // across the cluster's sales: one ledger
	for i, a := range answers {
		switch {
		case !a.final():
			tb.Errorf("checkout %d has no final answer: %d %s %v", i, a.status, a.body, a.err)
			continue
		case a.status == 402:
			b.declined++
			continue
		case a.status == 409:
			if api.ErrorCode(decodeErr(a.body)) != api.ECodeOutOfStock {
				tb.Errorf("checkout %d: 409 that is not out of stock: %s", i, a.body)
			}
			b.soldOut++
			continue
		}
		var o api.Order
		if err := json.Unmarshal(a.body, &o); err != nil || o.Status != api.OrderPaid || o.PaymentID == "" {
			tb.Errorf("checkout %d: 201 without a paid order: %s", i, a.body)
			continue
		}
		st, body := c.get("/v1/orders/" + o.ID + "?token=" + o.Token)
		var back api.Order
		if st != 200 || json.Unmarshal(body, &back) != nil || back.Status != api.OrderPaid || back.PaymentID != o.PaymentID {
			tb.Errorf("acknowledged order %s read back: %d %s", o.ID, st, body)
			continue
		}
		if other, ok := byCharge[o.PaymentID]; ok {
			tb.Errorf("charge %s pays orders %s and %s", o.PaymentID, other, o.ID)
		}
		byCharge[o.PaymentID] = o.ID
		b.paid++
		for _, l := range back.Lines {
			b.paidUnits[l.SKU] += l.Quantity
		}
	}
	c.auditLedger(byCharge)
	for sku, onHand := range s.spec.stock {
		st := c.stock(sku)
		sold := b.paidUnits[sku]
		if sold > onHand {
			tb.Errorf("oversold %s: paid orders hold %d units of %d", sku, sold, onHand)
		}
		if st.OnHand != onHand || st.Sold != sold || st.Reserved != 0 {
			tb.Errorf("stock of %s: %+v; on hand set to %d, paid orders hold %d", sku, st, onHand, sold)
		}
	}
	return b
}

// auditLedger checks the shared ledger against the paid orders (charge id
// → order id).
func (c *mcCluster) auditLedger(paidBy map[string]string) {
	tb := c.tb
	tb.Helper()
	l := c.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	charged := map[string]bool{}
	for _, ch := range l.tp.Charges() {
		charged[ch.ID] = true
		_, paid := paidBy[ch.ID]
		switch {
		case paid && ch.Refunded:
			tb.Errorf("charge %s pays order %s and was refunded", ch.ID, paidBy[ch.ID])
		case !paid && !ch.Refunded:
			tb.Errorf("charge %s (order %s) pays no acknowledged order and was not refunded", ch.ID, l.orderOf[ch.ID])
		}
	}
	for id, o := range paidBy {
		if !charged[id] {
			tb.Errorf("paid order %s names charge %s the gateway never made", o, id)
		}
	}
	for key, n := range l.chargeCalls {
		if n > 1 {
			tb.Errorf("attempt %s charged %d times", key, n)
		}
	}
	for id, keys := range l.refundKeys {
		if len(keys) > 1 {
			tb.Errorf("charge %s refunded under %d keys", id, len(keys))
		}
	}
}

// stock reads a SKU's stock from a live core's admin API.
func (c *mcCluster) stock(sku string) api.Stock {
	tb := c.tb
	tb.Helper()
	st, body := coreGet(tb, c.live()[0], "/admin/v1/stock/"+sku, mcAdminToken)
	var s api.Stock
	if st != 200 || json.Unmarshal(body, &s) != nil {
		tb.Fatalf("stock of %s: %d %s", sku, st, body)
	}
	return s
}

func decodeErr(b []byte) error {
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Error == nil {
		return nil
	}
	return eb.Error
}

// readFeed reads core k's whole change log, page by page.
func readFeed(tb testing.TB, k *mcCore) []api.Event {
	tb.Helper()
	var all []api.Event
	after := uint64(0)
	for {
		st, body := coreGet(tb, k, "/internal/v1/changes?wait=0&after="+strconv.FormatUint(after, 10), mcInternalToken)
		var ch api.Changes
		if st != 200 || json.Unmarshal(body, &ch) != nil {
			tb.Fatalf("changes after %d on core %d: %d %s", after, k.i, st, body)
		}
		all = append(all, ch.Events...)
		if len(ch.Events) == 0 || ch.Last <= after {
			return all
		}
		after = ch.Last
	}
}

// checkFeed checks the change log as every live core serves it: the same
// events on each, with sequences 1, 2, 3… without a gap, and each sale
// SKU's product last announced in the availability band its stock has.
func (c *mcCluster) checkFeed(stock map[string]int64, low int64) {
	tb := c.tb
	tb.Helper()
	var first []api.Event
	for _, k := range c.live() {
		evs := readFeed(tb, k)
		for i, ev := range evs {
			if ev.Seq != uint64(i+1) {
				tb.Fatalf("core %d: event %d has sequence %d (a gap or a repeat)", k.i, i, ev.Seq)
			}
		}
		if first == nil {
			first = evs
			continue
		}
		if len(evs) != len(first) {
			tb.Fatalf("core %d serves %d events, core %d %d", k.i, len(evs), c.live()[0].i, len(first))
		}
		for i := range evs {
			a, _ := json.Marshal(evs[i])
			b, _ := json.Marshal(first[i])
			if string(a) != string(b) {
				tb.Fatalf("event %d differs between cores:\n%s\n%s", i+1, a, b)
			}
		}
	}
	band := map[string]string{}
	for _, ev := range first {
		if ev.Product == nil {
			continue
		}
		for _, k := range ev.Product.SKUs {
			band[k.SKU] = k.Availability
		}
	}
	for sku := range stock {
		s := c.stock(sku)
		want := "in_stock"
		switch {
		case s.Available <= 0:
			want = "out_of_stock"
		case s.Available <= low:
			want = "low_stock"
		}
		if band[sku] != want {
			tb.Errorf("feed's last band of %s is %q, its stock %+v is %s", sku, band[sku], s, want)
		}
	}
}

// feedWatcher follows the change feed during a sale as an edge does,
// asking a different live core each time, and records any sequence that
// is not the one after the last it saw.
type feedWatcher struct {
	c    *mcCluster
	stop chan struct{}
	done sync.WaitGroup
	mu   sync.Mutex
	errs []string
	seq  uint64
	seen int
}

func (c *mcCluster) watchFeed() *feedWatcher {
	w := &feedWatcher{c: c, stop: make(chan struct{})}
	w.done.Add(1)
	go w.run()
	return w
}

func (w *feedWatcher) run() {
	defer w.done.Done()
	for n := 0; ; n++ {
		select {
		case <-w.stop:
			return
		default:
		}
		live := w.c.live()
		if len(live) == 0 {
			return
		}
		k := live[n%len(live)]
		ch, err := pollChanges(k.addr, w.seq, 200*time.Millisecond)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // a killed core; the next poll asks another
			continue
		}
		w.mu.Lock()
		for _, ev := range ch.Events {
			if ev.Seq != w.seq+1 {
				w.errs = append(w.errs, fmt.Sprintf("core %d sent sequence %d after %d", k.i, ev.Seq, w.seq))
			}
			w.seq = ev.Seq
			w.seen++
		}
		if len(ch.Events) == 0 && ch.Last > w.seq {
			w.errs = append(w.errs, fmt.Sprintf("core %d: no events but last %d after %d", k.i, ch.Last, w.seq))
		}
		w.mu.Unlock()
	}
}

// finish stops the watcher and fails the test on any gap it saw.
func (w *feedWatcher) finish(tb testing.TB) (events int) {
	tb.Helper()
	close(w.stop)
	w.done.Wait()
	for _, e := range w.errs {
		tb.Error("feed watcher: " + e)
	}
	return w.seen
}

// pollChanges long-polls core addr's change feed after seq for up to wait.
func pollChanges(addr string, after uint64, wait time.Duration) (*api.Changes, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/internal/v1/changes?after=" + strconv.FormatUint(after, 10) + "&wait=" + wait.String())
	req.Header.Set("Authorization", "Bearer "+mcInternalToken)
	if err := fasthttp.DoTimeout(req, resp, wait+5*time.Second); err != nil {
		return nil, err
	}
	if resp.StatusCode() != 200 {
		return nil, fmt.Errorf("changes: %d %s", resp.StatusCode(), resp.Body())
	}
	var ch api.Changes
	if err := json.Unmarshal(resp.Body(), &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}
