package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// FlashsaleConfig configures the flash-sale scenario: Buyers checking out
// one hot SKU with Units in stock, then a mixed-cart sale over MixedSKUs,
// through an edge, in each of Modes: group commit on and off with the
// payments going to the testpay process through the Stripe adapter, and
// group commit on with the in-process gateway (the cost of the process
// boundary, measured in the same run).
type FlashsaleConfig struct {
	Cluster     ClusterConfig `yaml:"cluster"`
	Concurrency int           `yaml:"concurrency"`
	Timeout     time.Duration `yaml:"timeout"`
	// MaxDuration bounds each phase (cart preparation, checkout storm).
	MaxDuration time.Duration `yaml:"max_duration"`
	Buyers      int           `yaml:"buyers"`
	Units       int64         `yaml:"units"`
	MixedSKUs   int           `yaml:"mixed_skus"`
	MixedUnits  int64         `yaml:"mixed_units"`
	// GroupCommitOn and GroupCommitOff are the extra core settings of the
	// two runs: NAME=value variables or -flags.
	GroupCommitOn  []string `yaml:"group_commit_on"`
	GroupCommitOff []string `yaml:"group_commit_off"`
	// InProcess are the extra core settings of the run with the in-process
	// gateway (benchmark-only gateway kind), group commit on.
	InProcess []string `yaml:"in_process"`
	// Modes lists the runs, in order: "on" (group commit, testpay
	// process), "inprocess" (group commit, in-process gateway), "off".
	Modes        []string `yaml:"modes"`
	PaymentToken string   `yaml:"payment_token"`
	// Via is "edge" (buyers go through an edge, the default) or "core"
	// (straight to the core, no edge started).
	Via string `yaml:"via"`
	// ProxyBin, when set, is a bin/bench binary started as a bare fasthttp
	// reverse proxy to the core ("bench baseline -proxy"): after each sale
	// the paid checkouts are replayed under their keys through the edge
	// and through it, the floor of the edge's CPU per checkout.
	ProxyBin string `yaml:"proxy_bin"`
}

// DefaultFlashsaleConfig returns 2,000 buyers on 100 units, 64 at a time.
func DefaultFlashsaleConfig() FlashsaleConfig {
	return FlashsaleConfig{
		Cluster: DefaultClusterConfig(), Concurrency: 64, Timeout: 10 * time.Second,
		MaxDuration: 2 * time.Minute, Buyers: 2000, Units: 100, MixedSKUs: 20, MixedUnits: 50,
		GroupCommitOn: []string{"SHOPEDGE_CHECKOUT_GROUP_COMMIT=true"},
		// Off means one store transaction (and fsync) per request: the
		// embedded store group-commits concurrent transactions itself
		// unless its batches are capped at one.
		GroupCommitOff: []string{"SHOPEDGE_CHECKOUT_GROUP_COMMIT=false", "SHOPEDGE_STORE_MAX_BATCH_SIZE=1"},
		InProcess: []string{"SHOPEDGE_CHECKOUT_GROUP_COMMIT=true",
			"SHOPEDGE_PAYMENT_GATEWAYS=[{name: testpay, kind: inprocess}]"},
		Modes:        []string{"on", "inprocess", "off"},
		PaymentToken: "tok_ok",
		Via:          "edge",
	}
}

// Validate reports the first invalid field of c.
func (c *FlashsaleConfig) Validate() error {
	if err := c.Cluster.Validate(); err != nil {
		return fmt.Errorf("cluster.%w", err)
	}
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency: must be >= 1, got %d", c.Concurrency)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout: must be > 0, got %s", c.Timeout)
	case c.MaxDuration <= 0:
		return fmt.Errorf("max_duration: must be > 0, got %s", c.MaxDuration)
	case c.Buyers < 1:
		return fmt.Errorf("buyers: must be >= 1, got %d", c.Buyers)
	case c.Units < 0:
		return fmt.Errorf("units: must be >= 0, got %d", c.Units)
	case c.MixedSKUs < 0:
		return fmt.Errorf("mixed_skus: must be >= 0, got %d", c.MixedSKUs)
	case c.MixedUnits < 0:
		return fmt.Errorf("mixed_units: must be >= 0, got %d", c.MixedUnits)
	case c.PaymentToken == "":
		return errors.New("payment_token: required")
	case c.Via != "edge" && c.Via != "core":
		return fmt.Errorf("via: want edge or core, got %q", c.Via)
	case len(c.Modes) == 0:
		return errors.New("modes: at least one of on, inprocess, off")
	}
	for _, m := range c.Modes {
		if _, ok := flashModes[m]; !ok {
			return fmt.Errorf("modes: unknown mode %q (want on, inprocess or off)", m)
		}
	}
	return nil
}

// flashModes names the runs of the scenario: the report's row suffix.
var flashModes = map[string]string{
	"on":        "group commit on",
	"inprocess": "in-process gateway",
	"off":       "group commit off",
}

// settings returns the extra core settings of mode.
func (c *FlashsaleConfig) settings(mode string) []string {
	switch mode {
	case "inprocess":
		return c.InProcess
	case "off":
		return c.GroupCommitOff
	}
	return c.GroupCommitOn
}

func (c *FlashsaleConfig) options() Options {
	return Options{Concurrency: c.Concurrency, Duration: c.MaxDuration, MaxRequests: int64(c.Buyers), Timeout: c.Timeout}
}

// Flash-sale catalog: one hot product and MixedSKUs others.
const (
	flashHotSKU = "fs-hot-1"
	flashMixSKU = "fs-mix-%d-1"
)

// FlashCatalog returns the flash-sale products: the hot one first.
func FlashCatalog(mixed int) []*api.Product {
	ps := []*api.Product{{
		ID: "fs-hot", Slug: "flash-sale-console-fs-hot", Name: "Flash Sale Console", Brand: "Shopedge",
		Categories: []string{"Video Games", "Consoles"}, Popularity: 100000,
		SKUs: []api.SKU{{SKU: flashHotSKU, Price: &api.Money{Amount: 29999, Currency: "USD"}}},
	}}
	for i := 0; i < mixed; i++ {
		id := "fs-mix-" + strconv.Itoa(i)
		ps = append(ps, &api.Product{
			ID: id, Slug: "flash-sale-item-" + id, Name: "Flash Sale Item " + strconv.Itoa(i), Brand: "Shopedge",
			Categories: []string{"Deals"}, Popularity: int64(1000 - i),
			SKUs: []api.SKU{{SKU: fmt.Sprintf(flashMixSKU, i), Price: &api.Money{Amount: 1000 + int64(i)*100, Currency: "USD"}}},
		})
	}
	return ps
}

// cartLine is one line a buyer puts in a cart.
type cartLine struct {
	sku string
	qty int64
}

// RunFlashsale runs the hot-SKU and mixed-cart sales with group commit on,
// then off, each on a fresh core and edge, and checks oversell against the
// core's stock after each sale.
func RunFlashsale(ctx context.Context, cfg FlashsaleConfig, log io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run flashsale: %w", err)
	}
	o := cfg.options()
	r := NewReport("flashsale", o)
	if err := measureBaseline(ctx, r, o, log); err != nil {
		return nil, err
	}
	cl, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rates := map[string]float64{}
	for _, m := range cfg.Modes {
		name := flashModes[m]
		if err := flashMode(ctx, cl, cfg, r, name, cfg.settings(m), rates, log); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	// The cost of the payment process boundary: throughput with testpay as
	// a process (through the Stripe adapter) over the in-process gateway,
	// both with group commit, measured in this run.
	for _, sale := range []string{"hot", "mixed"} {
		if in := rates[sale+"_in_process_gateway"]; in > 0 && rates[sale+"_group_commit_on"] > 0 {
			r.Fact(sale+"_testpay_process_vs_in_process", rates[sale+"_group_commit_on"]/in)
		}
	}
	r.Note("group commit on and off: payments go to the testpay process through the Stripe adapter; in-process gateway: testpay's in-memory gateway inside the core (benchmark-only), group commit on")
	r.Note("buyers go through the %s", cfg.Via)
	r.Note("%d buyers, %d workers; hot SKU %s with %d units; mixed carts of 1–3 lines over %d SKUs with %d units each; payment %s",
		cfg.Buyers, cfg.Concurrency, flashHotSKU, cfg.Units, cfg.MixedSKUs, cfg.MixedUnits, cfg.PaymentToken)
	r.Note("oversell = paid units beyond stock, checked against GET /admin/v1/stock/{sku}: must be 0")
	return r, nil
}

// flashMode starts a core with extra and an edge, runs both sales and
// stops them.
func flashMode(ctx context.Context, cl *Cluster, cfg FlashsaleConfig, r *Report, mode string, extra []string, rates map[string]float64, log io.Writer) error {
	defer cl.Stop()
	if err := cl.StartCore(ctx, extra...); err != nil {
		return err
	}
	cat := FlashCatalog(cfg.MixedSKUs)
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, cat); err != nil {
		return err
	}
	if _, err := cl.Import(ctx, &buf); err != nil {
		return err
	}
	if err := cl.SetStock(ctx, flashHotSKU, cfg.Units); err != nil {
		return err
	}
	for i := 0; i < cfg.MixedSKUs; i++ {
		if err := cl.SetStock(ctx, fmt.Sprintf(flashMixSKU, i), cfg.MixedUnits); err != nil {
			return err
		}
	}
	target := cl.Core.Addr
	if cfg.Via == "edge" {
		if _, err := cl.StartEdge(ctx); err != nil {
			return err
		}
		target = cl.Edge.Addr
	}
	ec := NewClient(target, cfg.Concurrency, cfg.Timeout)
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)

	fmt.Fprintf(log, "%s: %d buyers, one hot SKU with %d units\n", mode, cfg.Buyers, cfg.Units)
	hot := func(int, *Worker) []cartLine { return []cartLine{{flashHotSKU, 1}} }
	stock := map[string]int64{flashHotSKU: cfg.Units}
	if err := flashSale(ctx, cl, ec, cfg, r, "hot SKU checkout, "+mode, "hot_"+slug(mode), tag+"h", hot, stock, rates); err != nil {
		return err
	}
	if cfg.MixedSKUs == 0 {
		return nil
	}
	fmt.Fprintf(log, "%s: %d buyers, mixed carts over %d SKUs\n", mode, cfg.Buyers, cfg.MixedSKUs)
	z, err := NewZipf(cfg.MixedSKUs, 1.1)
	if err != nil {
		return err
	}
	mixed := func(_ int, w *Worker) []cartLine {
		n := 1 + w.Rand.IntN(3)
		lines := make([]cartLine, 0, n)
		seen := map[int]bool{}
		for len(lines) < n {
			k := z.Sample(w.Rand)
			if seen[k] {
				if len(seen) == cfg.MixedSKUs {
					break
				}
				continue
			}
			seen[k] = true
			lines = append(lines, cartLine{fmt.Sprintf(flashMixSKU, k), 1 + int64(w.Rand.IntN(2))})
		}
		return lines
	}
	mstock := map[string]int64{}
	for i := 0; i < cfg.MixedSKUs; i++ {
		mstock[fmt.Sprintf(flashMixSKU, i)] = cfg.MixedUnits
	}
	return flashSale(ctx, cl, ec, cfg, r, "mixed-cart checkout, "+mode, "mixed_"+slug(mode), tag+"m", mixed, mstock, rates)
}

func slug(mode string) string {
	b := []byte(api.KeyToken(mode))
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// flashSale prepares one cart per buyer, runs the checkout storm, and
// checks every SKU of stock for oversell.
func flashSale(ctx context.Context, cl *Cluster, ec *fasthttp.HostClient, cfg FlashsaleConfig, r *Report,
	name, fact, tag string, lines func(int, *Worker) []cartLine, stock map[string]int64, rates map[string]float64) error {
	o := cfg.options()
	carts, prepFailed, err := prepareCarts(ctx, ec, o, cfg.Buyers, lines)
	if carts == nil {
		return err
	}
	r.Fact(fact+"_buyers_ready", float64(len(carts)))
	if prepFailed > 0 {
		r.Fact(fact+"_cart_prep_failures", float64(prepFailed))
		r.Note("%s: %d of %d carts could not be prepared; first failure: %v", name, prepFailed, cfg.Buyers, err)
	}
	o.MaxRequests = int64(len(carts))
	// Probe nothing here: the first checkout is the probe; a missing route
	// shows as every request failing with the same status.
	var next atomic.Int64
	var paid, soldOut atomic.Int64
	var mu sync.Mutex
	var lastPaid atomic.Int64 // nanoseconds from the start to the latest paid order
	paidUnits := map[string]int64{}
	var answers []soldOutAnswer
	var paidIdx []int64
	start := time.Now()
	op := func(w *Worker) string {
		i := next.Add(1) - 1
		if i >= int64(len(carts)) {
			return "no_cart"
		}
		checkoutReq(w.Req, ec.Addr, cfg, tag, carts, i, false)
		err := ec.DoTimeout(w.Req, w.Resp, cfg.Timeout)
		w.Bytes += int64(len(w.Resp.Body()))
		kind := ErrorKind(err, w.Resp.StatusCode())
		switch {
		case err == nil && w.Resp.StatusCode() == 201:
			var ord api.Order
			if json.Unmarshal(w.Resp.Body(), &ord) != nil {
				return "bad_order_body"
			}
			if ord.Status != api.OrderPaid {
				return "order_" + ord.Status
			}
			paid.Add(1)
			since := int64(time.Since(start))
			for {
				if old := lastPaid.Load(); since <= old || lastPaid.CompareAndSwap(old, since) {
					break
				}
			}
			mu.Lock()
			for _, l := range ord.Lines {
				paidUnits[l.SKU] += l.Quantity
			}
			paidIdx = append(paidIdx, i)
			mu.Unlock()
			return ""
		case err == nil && w.Resp.StatusCode() == 409:
			a, ok := readSoldOut(w.Resp, time.Since(start))
			if !ok {
				return "status_409"
			}
			soldOut.Add(1)
			mu.Lock()
			answers = append(answers, a)
			mu.Unlock()
			return ""
		}
		return kind
	}
	cpu0 := clusterCPU(cl)
	s, err := Run(ctx, o, op)
	if err != nil {
		return err
	}
	cpu1 := clusterCPU(cl)
	if s.OK == 0 {
		first := s.ErrorKinds()
		return fmt.Errorf("every checkout failed (%v): is POST /v1/checkout wired through the edge?", first)
	}
	r.Add(name, "POST /v1/checkout via "+cfg.Via, s)
	rates[fact] = float64(s.Requests) / s.Seconds
	r.Fact(fact+"_paid_orders", float64(paid.Load()))
	r.Fact(fact+"_sold_out_answers", float64(soldOut.Load()))
	soldOutFacts(r, fact, answers)
	r.Fact(fact+"_paid_orders_per_s", float64(paid.Load())/s.Seconds)
	// Time to sell out: from the first checkout to the last paid one.
	r.Fact(fact+"_last_paid_ms", float64(time.Duration(lastPaid.Load()).Milliseconds()))
	var oversell, mismatch int64
	for sku, units := range stock {
		st, err := cl.Stock(ctx, sku)
		if err != nil {
			return err
		}
		if d := paidUnits[sku] - units; d > 0 {
			oversell += d
		}
		if d := st.Sold - st.OnHand; d > 0 {
			oversell += d
		}
		if st.Sold != paidUnits[sku] {
			mismatch++
		}
	}
	r.Fact(fact+"_oversell", float64(oversell))
	// CPU per checkout of each process, robust against other load on the
	// machine (wall-clock rates are not).
	for i, name := range []string{"core", "edge", "testpay"} {
		if cpu0[i] >= 0 && cpu1[i] >= 0 && s.Requests > 0 {
			r.Fact(fact+"_"+name+"_cpu_us_per_checkout", float64((cpu1[i]-cpu0[i]).Microseconds())/float64(s.Requests))
		}
	}
	// The core's batch sizes show whether group commit took effect; the
	// counters run over the core's life, so the mixed sale includes the hot.
	if m, err := Metrics(ctx, cl.Core, "shopedge_checkout_batch_size_sum", "shopedge_checkout_batch_size_count"); err == nil {
		if n := m["shopedge_checkout_batch_size_count"]; n > 0 {
			r.Fact(fact+"_core_mean_batch_size", m["shopedge_checkout_batch_size_sum"]/n)
		}
	}
	r.Fact(fact+"_skus_sold_ne_paid", float64(mismatch))
	if cfg.Via == "edge" && len(answers) > 0 {
		if err := soldOutCost(ctx, cl, ec, cfg, r, fact, tag, carts); err != nil {
			return err
		}
	}
	if cfg.Via == "edge" && cfg.ProxyBin != "" && len(paidIdx) > 0 {
		return proxyFloor(ctx, cl, ec, cfg, r, fact, tag, carts, paidIdx)
	}
	return nil
}

// checkoutReq fills req with buyer i's checkout (the storm's request);
// a retry under the same key (retry) goes without the cart digest, which
// a client sends only with the first attempt (api.HeaderCartDigest).
func checkoutReq(req *fasthttp.Request, host string, cfg FlashsaleConfig, tag string, carts []preparedCart, i int64, retry bool) {
	req.Reset()
	req.Header.SetMethod("POST")
	req.SetRequestURI("/v1/checkout")
	req.SetHost(host)
	req.Header.SetContentType("application/json")
	req.Header.Set("Idempotency-Key", "bench-"+tag+"-"+strconv.FormatInt(i, 10))
	if d := carts[i].digest; d != "" && !retry {
		req.Header.Set(api.HeaderCartDigest, d)
	}
	body, _ := json.Marshal(api.CheckoutRequest{CartID: carts[i].id, PaymentToken: cfg.PaymentToken,
		Email: "buyer" + strconv.FormatInt(i, 10) + "@example.com"})
	req.SetBody(body)
}

// proxyFloorRequests is the length of each run of proxyFloor.
const proxyFloorRequests = 20000

// proxyFloor replays the sale's paid checkouts, byte for byte under their
// keys (the core answers each from its idempotency record: 201 and the
// order, Idempotent-Replayed), proxyFloorRequests times through the edge
// and as many through a bare fasthttp reverse proxy to the same core
// (cfg.ProxyBin), and reports the CPU per request of each forwarder and
// of the core: the proxy's is the floor of the edge's share of a
// checkout's forwarding.
func proxyFloor(ctx context.Context, cl *Cluster, ec *fasthttp.HostClient, cfg FlashsaleConfig, r *Report, fact, tag string, carts []preparedCart, paid []int64) error {
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	px, err := StartProc("proxy", cfg.ProxyBin, []string{"baseline", "-addr", addr, "-proxy", cl.Core.Addr}, nil,
		filepath.Join(os.TempDir(), "shopedge-bench-proxy-"+tag+".log"))
	if err != nil {
		return err
	}
	defer px.Stop(5 * time.Second)
	pc := NewClient(addr, cfg.Concurrency, cfg.Timeout)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := probe(pc, "proxy", "GET", "/healthz", nil, nil, 200, 404, 503); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the proxy baseline did not answer within 10s: log %s", px.LogPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
	o := cfg.options()
	o.MaxRequests = proxyFloorRequests
	replay := func(c *fasthttp.HostClient) Op {
		var next atomic.Int64
		return func(w *Worker) string {
			i := paid[int(next.Add(1)-1)%len(paid)]
			checkoutReq(w.Req, c.Addr, cfg, tag, carts, i, true)
			if err := c.DoTimeout(w.Req, w.Resp, cfg.Timeout); err != nil {
				return ErrorKind(err, 0)
			}
			if w.Resp.StatusCode() != 201 {
				return "status_" + strconv.Itoa(w.Resp.StatusCode())
			}
			return ""
		}
	}
	for _, via := range []struct {
		name string
		c    *fasthttp.HostClient
		p    *Proc
	}{{"edge", ec, cl.Edge}, {"proxy", pc, px}} {
		c0, p0 := clusterCPU(cl), -time.Duration(1)
		if d, err := ReadCPU(via.p.Pid()); err == nil {
			p0 = d
		}
		s, err := Run(ctx, o, replay(via.c))
		if err != nil {
			return err
		}
		c1 := clusterCPU(cl)
		p1, err := ReadCPU(via.p.Pid())
		if err != nil || p0 < 0 || s.Requests == 0 {
			continue
		}
		if s.ErrorCount() > 0 {
			r.Note("%s: replays through the %s: %d of %d failed (%v)", fact, via.name, s.ErrorCount(), s.Requests, s.ErrorKinds())
			continue
		}
		r.Fact(fact+"_replay_via_"+via.name+"_cpu_us", float64((p1-p0).Microseconds())/float64(s.Requests))
		r.Fact(fact+"_replay_via_"+via.name+"_core_cpu_us", float64((c1[0]-c0[0]).Microseconds())/float64(s.Requests))
	}
	return nil
}

// soldOutAnswer is one 409 out_of_stock of the checkout storm: when it
// came back, whether the edge gave it (api.HeaderAnsweredBy) and the
// SKUs it names sold out.
type soldOutAnswer struct {
	at   time.Duration
	edge bool
	skus []string
}

// readSoldOut reads a 409 out_of_stock answer received at since.
func readSoldOut(resp *fasthttp.Response, at time.Duration) (soldOutAnswer, bool) {
	var eb struct {
		Error *struct {
			Code    string          `json:"code"`
			Details []api.ShortLine `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.Body(), &eb) != nil || eb.Error == nil || eb.Error.Code != api.ECodeOutOfStock {
		return soldOutAnswer{}, false
	}
	a := soldOutAnswer{at: at, edge: string(resp.Header.Peek(api.HeaderAnsweredBy)) == "edge"}
	for _, l := range eb.Error.Details {
		if l.Available == 0 {
			a.skus = append(a.skus, l.SKU)
		}
	}
	return a, true
}

// soldOutWindow is how soon after a SKU sells out every edge should
// answer for it.
const soldOutWindow = 100 * time.Millisecond

// soldOutFacts reports how many sold-out answers of the storm reached
// the core, overall and after the first soldOutWindow. A SKU's sell-out
// is taken at the first answer naming it sold out that comes back (the
// commit that took its last unit precedes it: the core answers sold out
// only after it, so the true window starts earlier, by at most that
// answer's round trip); an answer is after the window when it comes back
// more than soldOutWindow after the earliest sell-out of the SKUs it
// names.
func soldOutFacts(r *Report, fact string, answers []soldOutAnswer) {
	first := map[string]time.Duration{}
	for _, a := range answers {
		for _, sku := range a.skus {
			if t, ok := first[sku]; !ok || a.at < t {
				first[sku] = a.at
			}
		}
	}
	var core, late, lateCore int
	for _, a := range answers {
		if !a.edge {
			core++
		}
		ref := time.Duration(-1)
		for _, sku := range a.skus {
			if t := first[sku]; ref < 0 || t < ref {
				ref = t
			}
		}
		if ref >= 0 && a.at-ref > soldOutWindow {
			late++
			if !a.edge {
				lateCore++
			}
		}
	}
	r.Fact(fact+"_sold_out_answered_by_edge", float64(len(answers)-core))
	r.Fact(fact+"_sold_out_reached_core", float64(core))
	r.Fact(fact+"_sold_out_after_100ms", float64(late))
	r.Fact(fact+"_sold_out_after_100ms_reached_core", float64(lateCore))
	if late > 0 {
		r.Fact(fact+"_sold_out_after_100ms_reached_core_pct", 100*float64(lateCore)/float64(late))
	}
}

// soldOutCostRequests is the length of each run of soldOutCost: enough
// edge CPU for /proc's 10 ms ticks to weigh a few per cent.
const soldOutCostRequests = 20000

// soldOutCost measures, after the storm (every SKU of the sale sold out or
// not), the edge's CPU per sold-out checkout it answers itself against
// its CPU per product hit (GET /v1/products/fs-hot, a cached page), in
// the same run: soldOutCostRequests checkouts of the carts the storm
// refused, each with a fresh Idempotency-Key and the cart's digest, then
// as many product reads. It also reports the core's CPU over the sold-out
// run (near zero when the edge answers alone).
func soldOutCost(ctx context.Context, cl *Cluster, ec *fasthttp.HostClient, cfg FlashsaleConfig, r *Report, fact, tag string, carts []preparedCart) error {
	o := cfg.options()
	o.MaxRequests = soldOutCostRequests
	var next atomic.Int64
	checkout := func(w *Worker) string {
		i := next.Add(1) - 1
		c := carts[int(i)%len(carts)]
		req := w.Req
		req.Reset()
		req.Header.SetMethod("POST")
		req.SetRequestURI("/v1/checkout")
		req.SetHost(ec.Addr)
		req.Header.SetContentType("application/json")
		req.Header.Set("Idempotency-Key", "bench-"+tag+"-again-"+strconv.FormatInt(i, 10))
		if c.digest != "" {
			req.Header.Set(api.HeaderCartDigest, c.digest)
		}
		body, _ := json.Marshal(api.CheckoutRequest{CartID: c.id, PaymentToken: cfg.PaymentToken, Email: "again@example.com"})
		req.SetBody(body)
		if err := ec.DoTimeout(req, w.Resp, cfg.Timeout); err != nil {
			return ErrorKind(err, 0)
		}
		switch {
		case w.Resp.StatusCode() == 409 && string(w.Resp.Header.Peek(api.HeaderAnsweredBy)) == "edge":
			return ""
		case w.Resp.StatusCode() == 409:
			return "sold_out_by_core"
		}
		return "status_" + strconv.Itoa(w.Resp.StatusCode())
	}
	cpu0 := clusterCPU(cl)
	s, err := Run(ctx, o, checkout)
	if err != nil {
		return err
	}
	cpu1 := clusterCPU(cl)
	if s.Requests == 0 {
		return nil
	}
	edgeAnswered := s.OK
	if edgeAnswered*2 < s.Requests {
		// Most carts of the sale were paid (or the edge answers nothing):
		// no sold-out figure to give.
		r.Note("%s: %d of %d repeated checkouts answered by the edge: no sold-out cost reported", fact, edgeAnswered, s.Requests)
		return nil
	}
	r.Fact(fact+"_sold_out_repeat_answered_by_edge", float64(edgeAnswered))
	r.Fact(fact+"_edge_cpu_us_per_sold_out", float64((cpu1[1]-cpu0[1]).Microseconds())/float64(s.Requests))
	r.Fact(fact+"_core_cpu_us_during_sold_out", float64((cpu1[0]-cpu0[0]).Microseconds())/float64(s.Requests))
	p0 := clusterCPU(cl)
	ps, err := Run(ctx, o, GetPaths(ec, cfg.Timeout, []string{"/v1/products/fs-hot"}))
	if err != nil {
		return err
	}
	p1 := clusterCPU(cl)
	if ps.Requests > 0 && ps.ErrorCount() == 0 {
		hit := float64((p1[1] - p0[1]).Microseconds()) / float64(ps.Requests)
		r.Fact(fact+"_edge_cpu_us_per_product_hit", hit)
		if hit > 0 {
			r.Fact(fact+"_edge_sold_out_vs_product_hit", float64((cpu1[1]-cpu0[1]).Microseconds())/float64(s.Requests)/hit)
		}
	}
	return nil
}

// clusterCPU returns the CPU time (user + system) the core, the edge and
// testpay have used so far; -1 for one that is not running or cannot be
// read.
func clusterCPU(cl *Cluster) [3]time.Duration {
	out := [3]time.Duration{-1, -1, -1}
	for i, p := range []*Proc{cl.Core, cl.Edge, cl.Testpay} {
		if p == nil {
			continue
		}
		if d, err := ReadCPU(p.Pid()); err == nil {
			out[i] = d
		}
	}
	return out
}

// ReadCPU returns the user + system CPU time process pid has used, from
// /proc/{pid}/stat (Linux; clock ticks of 1/100 s, the kernel's USER_HZ).
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cannot read CPU time of %d: %w", pid, err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/{pid}/stat line. The command name (field 2) is in parentheses and
// may hold spaces, so fields are counted after its closing parenthesis.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cannot parse /proc stat %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc stat %q", b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cannot parse /proc stat %q: %w", b, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

// prepareCarts creates n carts through the target, each filled by lines,
// and returns the ids of those that were prepared, the first failure and
// the number of failures. More than 5% failed buyers is an error.
func prepareCarts(ctx context.Context, ec *fasthttp.HostClient, o Options, n int, lines func(int, *Worker) []cartLine) ([]preparedCart, int64, error) {
	carts := make([]preparedCart, n)
	var next atomic.Int64
	var (
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) string {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		return "prepare"
	}
	op := func(w *Worker) string {
		i := next.Add(1) - 1
		if i >= int64(n) {
			return ""
		}
		b, err := probe(ec, "target", "POST", "/v1/carts", []byte("{}"), nil, 201)
		if err != nil {
			return fail(err)
		}
		var c api.Cart
		if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
			return fail(fmt.Errorf("cannot read cart id from %q", b))
		}
		digest := ""
		for _, l := range lines(int(i), w) {
			body, _ := json.Marshal(api.SetQuantity{Quantity: l.qty})
			d, err := setItem(ec, w, c.ID, l.sku, body)
			if err != nil {
				return fail(err)
			}
			digest = d
		}
		carts[i] = preparedCart{id: c.ID, digest: digest}
		return ""
	}
	s, err := Run(ctx, o, op)
	if err != nil {
		return nil, 0, err
	}
	ready := carts[:0]
	for _, c := range carts {
		if c.id != "" {
			ready = append(ready, c)
		}
	}
	failed := s.Errors["prepare"]
	if firstErr != nil && failed*20 > int64(n) {
		return nil, failed, fmt.Errorf("cannot prepare carts (%d of %d failed): %w", failed, n, firstErr)
	}
	if len(ready) == 0 {
		return nil, failed, fmt.Errorf("cannot prepare carts: none ready within %s", o.Duration)
	}
	return ready, failed, firstErr
}

// preparedCart is a buyer's cart: its id and the digest (api.HeaderCartDigest)
// of the last answer that changed it, which the buyer sends back with its
// checkout as a client of the API does.
type preparedCart struct {
	id, digest string
}

// setItem puts a line in cart id and returns the cart digest of the answer
// ("" when the core issues none).
func setItem(ec *fasthttp.HostClient, w *Worker, id, sku string, body []byte) (string, error) {
	req, resp := w.Req, w.Resp
	req.Reset()
	req.Header.SetMethod("PUT")
	uri := "/v1/carts/" + id + "/items/" + sku
	req.SetRequestURI(uri)
	req.SetHost(ec.Addr)
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	if err := ec.DoTimeout(req, resp, 10*time.Second); err != nil {
		return "", fmt.Errorf("cannot PUT %s on the target: %w", uri, err)
	}
	if resp.StatusCode() != 200 {
		return "", RouteError("target", "PUT", uri, resp.StatusCode(), resp.Body())
	}
	return string(resp.Header.Peek(api.HeaderCartDigest)), nil
}
