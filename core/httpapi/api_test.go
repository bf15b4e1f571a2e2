package httpapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/router"
	json "github.com/goccy/go-json"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"shopedge/core/api"
	"shopedge/core/catalog"
	"shopedge/core/changelog"
	"shopedge/internal/config"
)

const testToken = "test-admin-token"

type testEnv struct {
	t      *testing.T
	cat    *catalog.Service
	log    *changelog.Log
	api    *API
	client *fasthttp.Client
}

func newEnv(t *testing.T, mut func(*Config, *changelog.Config)) *testEnv {
	t.Helper()
	st := newTestStore(t)
	lcfg := changelog.DefaultConfig()
	cfg := DefaultConfig()
	cfg.AdminToken = testToken
	cfg.InternalOpen = true // the feed tests; TestInternalToken closes it
	if mut != nil {
		mut(&cfg, &lcfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := changelog.New(st, lcfg)
	cat := catalog.New(st, log, catalog.DefaultConfig())
	a := New(cat, log, cfg, zerolog.Nop())
	r := router.New()
	a.Register(r)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: r.Handler, MaxRequestBodySize: 64 << 20}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		_ = ln.Close()
		<-done
	})
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 30 * time.Second}
	return &testEnv{t: t, cat: cat, log: log, api: a, client: c}
}

type result struct {
	status int
	body   []byte
	header map[string]string
}

func (e *testEnv) do(method, path, token string, body []byte, hdr ...string) result {
	e.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://core" + path)
	req.Header.SetMethod(method)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	req.SetBody(body)
	if err := e.client.DoTimeout(req, resp, 30*time.Second); err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	h := map[string]string{}
	for k, v := range resp.Header.All() {
		h[string(k)] = string(v)
	}
	return result{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...), header: h}
}

func (r result) errCode(t *testing.T) (code, field string) {
	t.Helper()
	var eb struct{ Error api.Error }
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return eb.Error.Code, eb.Error.Field
}

func (e *testEnv) expectError(r result, status int, code, field string) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d (%s), want %d", r.status, r.body, status)
	}
	c, f := r.errCode(e.t)
	if c != code || (field != "" && !strings.Contains(f+" "+string(r.body), field)) {
		e.t.Fatalf("error %s, want code %s naming %s", r.body, code, field)
	}
}

func productJSON(id string, skus ...string) []byte {
	p := api.Product{ID: id, Slug: "s-" + id, Name: "Product " + id, Brand: "Acme", Categories: []string{"TV"}}
	for _, s := range skus {
		p.SKUs = append(p.SKUs, api.SKU{SKU: s, Price: &api.Money{Amount: 500, Currency: "USD"}})
	}
	b, _ := json.Marshal(p)
	return b
}

func (e *testEnv) lastSeq() uint64 {
	e.t.Helper()
	ch, err := e.log.Read(context.Background(), 0, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	for len(ch.Events) > 0 {
		ch, err = e.log.Read(context.Background(), ch.Last, 0)
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return ch.Last
}

func TestAdminAuth(t *testing.T) {
	e := newEnv(t, nil)
	routes := []struct{ method, path string }{
		{"PUT", "/admin/v1/products/p1"}, {"DELETE", "/admin/v1/products/p1"}, {"GET", "/admin/v1/products/p1"},
		{"PUT", "/admin/v1/stock/a"}, {"GET", "/admin/v1/stock/a"}, {"POST", "/admin/v1/import"},
		{"POST", "/admin/v1/purge"},
	}
	bodies := map[string][]byte{
		"/admin/v1/products/p1": productJSON("p1", "a"),
		"/admin/v1/stock/a":     []byte(`{"on_hand":5}`),
		"/admin/v1/import":      append(productJSON("p1", "a"), '\n'),
		"/admin/v1/purge":       []byte(`{"all":true}`),
	}
	for _, tok := range []string{"", "wrong-token", testToken + "x", strings.ToUpper(testToken)} {
		for _, rt := range routes {
			r := e.do(rt.method, rt.path, tok, bodies[rt.path])
			e.expectError(r, 401, api.ECodeUnauthorized, "")
		}
	}
	// Basic auth or a bare token is not accepted either.
	r := e.do("PUT", "/admin/v1/products/p1", "", productJSON("p1", "a"), "Authorization", testToken)
	e.expectError(r, 401, api.ECodeUnauthorized, "")
	if _, err := e.cat.Get(context.Background(), "p1"); api.ErrorCode(err) != api.ECodeNotFound {
		t.Fatalf("unauthorised request wrote: %v", err)
	}
	if s := e.lastSeq(); s != 0 {
		t.Fatalf("unauthorised requests appended events (seq %d)", s)
	}
	// The right token works.
	if r := e.do("PUT", "/admin/v1/products/p1", testToken, productJSON("p1", "a")); r.status != 200 {
		t.Fatalf("authorised put: %d %s", r.status, r.body)
	}
}

func TestProductRoutes(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("PUT", "/admin/v1/products/p1", testToken, productJSON("", "a", "b"))
	if r.status != 200 || r.header[api.SeqHeader] != "1" {
		t.Fatalf("put: %d %v %s", r.status, r.header, r.body)
	}
	var p api.Product
	if err := json.Unmarshal(r.body, &p); err != nil || p.ID != "p1" || p.SKUs[0].Availability != api.OutOfStock {
		t.Fatalf("put answer %s", r.body)
	}
	r = e.do("PUT", "/admin/v1/stock/a", testToken, []byte(`{"on_hand":100}`))
	if r.status != 200 || string(r.body) != `{"on_hand":100,"reserved":0,"sold":0,"available":100}` {
		t.Fatalf("put stock: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/admin/v1/stock/a", testToken, nil)
	if r.status != 200 || string(r.body) != `{"on_hand":100,"reserved":0,"sold":0,"available":100}` {
		t.Fatalf("get stock: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/internal/v1/products/p1", "", nil)
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 || p.SKUs[0].Availability != api.InStock ||
		p.SKUs[1].Availability != api.OutOfStock {
		t.Fatalf("feed product: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/admin/v1/products/p1", testToken, nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"in_stock"`)) {
		t.Fatalf("admin get: %d %s", r.status, r.body)
	}
	// Reserved stock: on_hand may not drop below reserved + sold.
	err := e.cat.Store().Update(context.Background(), func(tx storeTxn) error {
		return e.cat.AdjustStock(tx, "a", func(s *api.Stock) error { s.Reserved = 30; s.Sold = 20; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	r = e.do("PUT", "/admin/v1/stock/a", testToken, []byte(`{"on_hand":49}`))
	e.expectError(r, 409, api.ECodeConflict, "reserved 30")
	r = e.do("GET", "/admin/v1/stock/a", testToken, nil)
	if string(r.body) != `{"on_hand":100,"reserved":30,"sold":20,"available":50}` {
		t.Fatalf("stock after refused change: %s", r.body)
	}
	e.expectError(e.do("PUT", "/admin/v1/stock/zz", testToken, []byte(`{"on_hand":1}`)), 404, api.ECodeNotFound, "")
	e.expectError(e.do("GET", "/admin/v1/stock/zz", testToken, nil), 404, api.ECodeNotFound, "")
	// Delete.
	r = e.do("DELETE", "/admin/v1/products/p1", testToken, nil)
	if r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	e.expectError(e.do("GET", "/internal/v1/products/p1", "", nil), 404, api.ECodeNotFound, "")
	e.expectError(e.do("DELETE", "/admin/v1/products/p1", testToken, nil), 404, api.ECodeNotFound, "")
	e.expectError(e.do("GET", "/admin/v1/products/a..b", testToken, nil), 400, api.ECodeInvalid, "id")
}

func TestAdminBadBodiesChangeNothing(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *changelog.Config) { c.MaxBodyBytes = 16 << 10 })
	if r := e.do("PUT", "/admin/v1/products/p1", testToken, productJSON("p1", "a")); r.status != 200 {
		t.Fatalf("setup: %s", r.body)
	}
	seq := e.lastSeq()
	big := productJSON("p2", "b")
	big = append(big[:len(big)-1], []byte(`,"description":"`+strings.Repeat("x", 20<<10)+`"}`)...)
	cases := []struct {
		method, path string
		body         string
		status       int
		code, field  string
	}{
		{"PUT", "/admin/v1/products/p2", `{"id":"p2","slug":"s","name":"n","skus":[{"sku":"b"}],"colour":"red"}`, 400, api.ECodeInvalid, "colour"},
		{"PUT", "/admin/v1/products/p2", `{"id":"p2","slug":"s","name":"n","skus":[{"sku":"b","prize":1}]}`, 400, api.ECodeInvalid, "prize"},
		{"PUT", "/admin/v1/products/p2", `{"id":"p2","slug":"s","name":"n","popularity":"high","skus":[{"sku":"b"}]}`, 400, api.ECodeInvalid, "popularity"},
		{"PUT", "/admin/v1/products/p2", `{"id":"p2","slug":"s","name":"n","skus":[{"sku":"b","price":{"amount":1.5,"currency":"USD"}}]}`, 400, api.ECodeInvalid, "amount"},
		{"PUT", "/admin/v1/products/p2", `{"id":"other","slug":"s","name":"n","skus":[{"sku":"b"}]}`, 400, api.ECodeInvalid, "id"},
		{"PUT", "/admin/v1/products/p2", `{"slug":"s","name":"","skus":[{"sku":"b"}]}`, 400, api.ECodeInvalid, "name"},
		{"PUT", "/admin/v1/products/p2", `{"slug":"s","name":"n","skus":[{"sku":"a"}]}`, 409, api.ECodeConflict, "a"},
		{"PUT", "/admin/v1/products/p2", `{"slug":"s"`, 400, api.ECodeInvalid, "body"},
		{"PUT", "/admin/v1/products/p2", ``, 400, api.ECodeInvalid, "body"},
		{"PUT", "/admin/v1/products/p2", string(big), 413, api.ECodeTooLarge, ""},
		{"PUT", "/admin/v1/stock/a", `{"on_hand":"5"}`, 400, api.ECodeInvalid, "on_hand"},
		{"PUT", "/admin/v1/stock/a", `{"onhand":5}`, 400, api.ECodeInvalid, "onhand"},
		{"PUT", "/admin/v1/stock/a", `{}`, 400, api.ECodeInvalid, "on_hand"},
		{"PUT", "/admin/v1/stock/a", `{"on_hand":-1}`, 400, api.ECodeInvalid, "on_hand"},
		{"POST", "/admin/v1/purge", `{"keys":["a"],"everything":true}`, 400, api.ECodeInvalid, "everything"},
		{"POST", "/admin/v1/purge", `{"keys":"a"}`, 400, api.ECodeInvalid, "keys"},
		{"POST", "/admin/v1/purge", `{}`, 400, api.ECodeInvalid, "keys"},
		{"POST", "/admin/v1/purge", `{"keys":["a"],"all":true}`, 400, api.ECodeInvalid, "keys"},
		{"POST", "/admin/v1/purge", `{"keys":["a b"]}`, 400, api.ECodeInvalid, "keys[0]"},
		{"POST", "/admin/v1/purge", `{"keys":["` + strings.Repeat("k", MaxPurgeKeyLen+1) + `"]}`, 400, api.ECodeInvalid, "keys[0]"},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, testToken, []byte(c.body))
		e.expectError(r, c.status, c.code, c.field)
	}
	keys := make([]string, MaxPurgeKeys+1)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	b, _ := json.Marshal(api.Purge{Keys: keys})
	e.expectError(e.do("POST", "/admin/v1/purge", testToken, b), 400, api.ECodeInvalid, "keys")
	if s := e.lastSeq(); s != seq {
		t.Fatalf("bad requests appended events: seq %d → %d", seq, s)
	}
	if _, err := e.cat.Get(context.Background(), "p2"); api.ErrorCode(err) != api.ECodeNotFound {
		t.Fatalf("bad request wrote p2: %v", err)
	}
	if st, _ := e.cat.Stock(context.Background(), "a"); st.OnHand != 0 {
		t.Fatalf("bad request changed stock: %+v", st)
	}
}

func TestImportRoute(t *testing.T) {
	e := newEnv(t, nil)
	var buf bytes.Buffer
	for i := 1; i <= 30; i++ {
		if i == 7 {
			buf.WriteString(`{"id":"bad","unknown":1}` + "\n")
			continue
		}
		line := productJSON(fmt.Sprint("p", i), fmt.Sprint("s", i))
		line = append(line[:len(line)-1], []byte(fmt.Sprintf(`,"stock":{"s%d":%d}}`, i, i))...)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	r := e.do("POST", "/admin/v1/import", testToken, buf.Bytes())
	if r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var res catalog.ImportResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Imported != 29 || res.Failed != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 7 ||
		!strings.Contains(res.Errors[0].Error, "unknown") {
		t.Fatalf("import result %s", r.body)
	}
	if st, err := e.cat.Stock(context.Background(), "s12"); err != nil || st.OnHand != 12 {
		t.Fatalf("imported stock %+v %v", st, err)
	}
	// Gzip-encoded bodies are accepted.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(append(productJSON("gz1", "gz1"), '\n'))
	_ = zw.Close()
	r = e.do("POST", "/admin/v1/import", testToken, gz.Bytes(), "Content-Encoding", "gzip")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"imported":1`)) {
		t.Fatalf("gzip import: %d %s", r.status, r.body)
	}
	e.expectError(e.do("POST", "/admin/v1/import", testToken, []byte("xx"), "Content-Encoding", "gzip"), 400, api.ECodeInvalid, "gzip")
}

func TestImportTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *changelog.Config) { c.MaxImportBytes = 2048 })
	var buf bytes.Buffer
	for i := 0; buf.Len() < 4096; i++ {
		buf.Write(productJSON(fmt.Sprint("p", i), fmt.Sprint("s", i)))
		buf.WriteByte('\n')
	}
	e.expectError(e.do("POST", "/admin/v1/import", testToken, buf.Bytes()), 413, api.ECodeTooLarge, "")
}

func TestChangesRoute(t *testing.T) {
	e := newEnv(t, func(_ *Config, l *changelog.Config) { l.RetentionEvents = 3; l.PollInterval = time.Hour })
	for i := 0; i < 5; i++ {
		if r := e.do("PUT", fmt.Sprint("/admin/v1/products/p", i), testToken, productJSON("", fmt.Sprint("s", i))); r.status != 200 {
			t.Fatal(string(r.body))
		}
	}
	r := e.do("GET", "/internal/v1/changes?after=2&limit=2", "", nil)
	var ch api.Changes
	if err := json.Unmarshal(r.body, &ch); err != nil || r.status != 200 || len(ch.Events) != 2 || ch.Events[0].Seq != 3 || ch.Last != 4 {
		t.Fatalf("changes: %d %s", r.status, r.body)
	}
	e.expectError(e.do("GET", "/internal/v1/changes?after=1", "", nil), 410, api.ECodeGone, "")
	e.expectError(e.do("GET", "/internal/v1/changes?after=-1", "", nil), 400, api.ECodeInvalid, "after")
	e.expectError(e.do("GET", "/internal/v1/changes?after=x", "", nil), 400, api.ECodeInvalid, "after")
	e.expectError(e.do("GET", "/internal/v1/changes", "", nil), 400, api.ECodeInvalid, "after")
	e.expectError(e.do("GET", "/internal/v1/changes?after=5&limit=0", "", nil), 400, api.ECodeInvalid, "limit")
	e.expectError(e.do("GET", "/internal/v1/changes?after=5&wait=soon", "", nil), 400, api.ECodeInvalid, "wait")
	// Nothing new: wait=50ms times out with no events.
	start := time.Now()
	r = e.do("GET", "/internal/v1/changes?after=5&wait=50ms", "", nil)
	if err := json.Unmarshal(r.body, &ch); err != nil || r.status != 200 || len(ch.Events) != 0 || ch.Last != 5 {
		t.Fatalf("empty poll: %d %s", r.status, r.body)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("empty poll answered before its wait")
	}
	// A long poll is woken by a write in this process.
	var wg sync.WaitGroup
	wg.Add(1)
	var polled result
	go func() {
		defer wg.Done()
		polled = e.do("GET", "/internal/v1/changes?after=5&wait=20s", "", nil)
	}()
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	if r := e.do("POST", "/admin/v1/purge", testToken, []byte(`{"keys":["p1","brand-acme"]}`)); r.status != 200 {
		t.Fatalf("purge: %s", r.body)
	}
	wg.Wait()
	if time.Since(start) > 10*time.Second {
		t.Fatal("long poll was not woken by the commit")
	}
	if err := json.Unmarshal(polled.body, &ch); err != nil || len(ch.Events) != 1 || ch.Events[0].Type != api.EventPurge ||
		fmt.Sprint(ch.Events[0].Keys) != "[p1 brand-acme]" {
		t.Fatalf("woken poll: %s", polled.body)
	}
}

func TestInternalToken(t *testing.T) {
	const secret = "feed-secret-0123456789"
	e := newEnv(t, func(c *Config, _ *changelog.Config) {
		c.InternalToken, c.InternalOpen, c.CheckoutMax = secret, false, 25*time.Second
	})
	for _, path := range []string{"/internal/v1/changes?after=0&wait=0", "/internal/v1/snapshot", "/internal/v1/products/p1"} {
		for _, tok := range []string{"", testToken, secret + "x", "feed-secret"} {
			e.expectError(e.do("GET", path, tok, nil), 401, api.ECodeUnauthorized, "")
		}
	}
	r := e.do("GET", "/internal/v1/changes?after=0&wait=0", secret, nil)
	if r.status != 200 || r.header[api.HeaderCheckoutMax] != "25000" {
		t.Fatalf("with token: %d %v %s", r.status, r.header, r.body)
	}
	// The token is a top-level setting of the core, required there unless
	// internal_open (core: TestConfigErrorsNameSettings).
	// A guard built without a token and not open refuses everyone.
	a := &API{cfg: Config{}}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.Set("Authorization", "Bearer ")
	a.internal(func(*fasthttp.RequestCtx) error { t.Fatal("served"); return nil })(&ctx)
	if ctx.Response.StatusCode() != 401 {
		t.Fatalf("tokenless guard: %d", ctx.Response.StatusCode())
	}
}

// readSnapshot streams the snapshot, calling head once the headers are in
// (before any body is read) and mid after the first line.
func (e *testEnv) readSnapshot(head, mid func()) (uint64, []api.Product) {
	e.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://core/internal/v1/snapshot")
	resp.StreamBody = true
	if err := e.client.Do(req, resp); err != nil {
		e.t.Fatal(err)
	}
	defer resp.CloseBodyStream() //nolint:errcheck
	if resp.StatusCode() != 200 {
		e.t.Fatalf("snapshot status %d", resp.StatusCode())
	}
	seq, err := strconv.ParseUint(string(resp.Header.Peek(api.SeqHeader)), 10, 64)
	if err != nil {
		e.t.Fatalf("seq header: %v", err)
	}
	if head != nil {
		head()
	}
	sc := bufio.NewScanner(resp.BodyStream())
	sc.Buffer(nil, 1<<20)
	var ps []api.Product
	for sc.Scan() {
		var p api.Product
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			e.t.Fatal(err)
		}
		ps = append(ps, p)
		if len(ps) == 1 && mid != nil {
			mid()
		}
	}
	if err := sc.Err(); err != nil {
		e.t.Fatal(err)
	}
	return seq, ps
}

func TestSnapshotConsistentWithSeq(t *testing.T) {
	e := newEnv(t, nil)
	var buf bytes.Buffer
	const n = 400
	desc := strings.Repeat("long description ", 200)
	for i := 0; i < n; i++ {
		p := api.Product{ID: fmt.Sprintf("p%03d", i), Slug: fmt.Sprint("s", i), Name: "Old", Description: desc,
			SKUs: []api.SKU{{SKU: fmt.Sprintf("k%03d", i)}}}
		b, _ := json.Marshal(p)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if r := e.do("POST", "/admin/v1/import", testToken, buf.Bytes()); r.status != 200 {
		t.Fatal(string(r.body))
	}
	before := e.lastSeq()
	ctx := context.Background()
	seq, ps := e.readSnapshot(func() {
		// Between the header and the body: rename the last product.
		p, _ := e.cat.Get(ctx, fmt.Sprintf("p%03d", n-1))
		p.Name = "New"
		if _, err := e.cat.Put(ctx, p); err != nil {
			t.Error(err)
		}
	}, func() {
		// While the body streams: add a product after the others, move
		// the stock of another across a band.
		if _, err := e.cat.Put(ctx, &api.Product{ID: "zzz", Slug: "zzz", Name: "Late", SKUs: []api.SKU{{SKU: "zzz"}}}); err != nil {
			t.Error(err)
		}
		if _, err := e.cat.SetStock(ctx, "k200", 100); err != nil {
			t.Error(err)
		}
	})
	if seq != before {
		t.Fatalf("snapshot seq %d, want %d", seq, before)
	}
	if len(ps) != n {
		t.Fatalf("snapshot has %d products, want %d", len(ps), n)
	}
	for i, p := range ps {
		if p.ID != fmt.Sprintf("p%03d", i) || p.Name != "Old" || p.SKUs[0].Availability != api.OutOfStock {
			t.Fatalf("snapshot torn at %d: %s %s %s", i, p.ID, p.Name, p.SKUs[0].Availability)
		}
	}
	// The writes are in the feed after seq, and a new snapshot has them.
	ch, err := e.log.Read(context.Background(), seq, 0)
	if err != nil || len(ch.Events) != 3 {
		t.Fatalf("events after snapshot: %+v %v", ch, err)
	}
	seq2, ps2 := e.readSnapshot(nil, nil)
	if seq2 != seq+3 || len(ps2) != n+1 || ps2[n].ID != "zzz" || ps2[200].SKUs[0].Availability != api.InStock {
		t.Fatalf("second snapshot: seq %d, %d products", seq2, len(ps2))
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(mut func(*Config), field string) {
		t.Helper()
		c := DefaultConfig()
		c.AdminToken, c.InternalToken = testToken, "internal-token-0123456"
		mut(&c)
		if err := config.Validate(&c); err == nil || !strings.Contains(err.Error(), field) {
			t.Fatalf("Validate() = %v, want error naming %s", err, field)
		}
	}
	f(func(c *Config) { c.MaxBodyBytes = 0 }, "max_body_bytes")
	f(func(c *Config) { c.MaxImportBytes = 0 }, "max_import_bytes")
	f(func(c *Config) { c.ChangesWait = 0 }, "changes_wait")
	f(func(c *Config) { c.CDN.Timeout = 0 }, "cdn.timeout")
	f(func(c *Config) { c.CDN.Settle = -time.Second }, "cdn.settle")
	f(func(c *Config) { c.CDN.MaxAge = c.CDN.Settle }, "cdn.max_age")
	f(func(c *Config) { c.CDN.BackoffMin = 0 }, "cdn.backoff_min")
	f(func(c *Config) { c.CDN.BackoffMax = c.CDN.BackoffMin / 2 }, "cdn.backoff_max")
	f(func(c *Config) { c.CDN.Batch = 0 }, "cdn.batch")
	f(func(c *Config) { c.CDN.Lease = 10 * time.Millisecond }, "cdn.lease")
	f(func(c *Config) { c.CDN.SourceAddr = "localhost" }, "cdn.source_addr")
	f(func(c *Config) { c.CDN.PurgeURLs = []string{"http://v/", "http://v/"} }, "cdn.purge_urls[1]")
	f(func(c *Config) { c.CDN.PurgeURLs = []string{"varnish:80"} }, "cdn.purge_urls[0]")
}

// TestSnapshotMatchesLogUnderWrites takes snapshots while a writer keeps
// adding products, and checks each snapshot holds exactly the products
// whose upsert events are at or before its sequence.
func TestSnapshotMatchesLogUnderWrites(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("w%05d", i)
			if _, err := e.cat.Put(ctx, &api.Product{ID: id, Slug: id, Name: id, SKUs: []api.SKU{{SKU: id}}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for round := 0; round < 5; round++ {
		time.Sleep(10 * time.Millisecond)
		seq, ps := e.readSnapshot(nil, nil)
		want := map[string]bool{}
		ch, err := e.log.Read(ctx, 0, 0)
		for err == nil && len(ch.Events) > 0 {
			for _, ev := range ch.Events {
				if ev.Seq <= seq {
					want[ev.ID] = true
				}
			}
			if ch.Last >= seq {
				break
			}
			ch, err = e.log.Read(ctx, ch.Last, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != len(want) {
			t.Fatalf("round %d: snapshot at seq %d has %d products, the log up to it %d", round, seq, len(ps), len(want))
		}
		for _, p := range ps {
			if !want[p.ID] {
				t.Fatalf("round %d: snapshot at seq %d has %s, created later", round, seq, p.ID)
			}
		}
	}
}

// A snapshot takes as long as it needs: the server's write timeout, which
// bounds every other answer, does not cut the stream (a 1M-product catalog
// takes minutes to send); snapshot_write_timeout bounds it instead.
func TestSnapshotOutlivesServerWriteTimeout(t *testing.T) {
	f := func(snapshotTimeout time.Duration, wantAll bool) {
		t.Helper()
		st := newTestStore(t)
		log := changelog.New(st, changelog.DefaultConfig())
		cat := catalog.New(st, log, catalog.DefaultConfig())
		cfg := DefaultConfig()
		cfg.AdminToken, cfg.InternalOpen = testToken, true
		cfg.SnapshotWriteTimeout = snapshotTimeout
		a := New(cat, log, cfg, zerolog.Nop())
		const n = 300
		for i := 0; i < n; i++ {
			p := &api.Product{ID: fmt.Sprintf("p%04d", i), Slug: fmt.Sprintf("p%04d", i), Name: strings.Repeat("long name ", 20),
				SKUs: []api.SKU{{SKU: fmt.Sprintf("s%04d", i)}}}
			if _, err := cat.Put(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
		r := router.New()
		a.Register(r)
		ln := fasthttputil.NewInmemoryListener()
		srv := &fasthttp.Server{Handler: r.Handler, WriteTimeout: 50 * time.Millisecond}
		go srv.Serve(ln) //nolint:errcheck
		defer func() { _ = srv.Shutdown(); _ = ln.Close() }()
		conn, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("GET /internal/v1/snapshot HTTP/1.1\r\nHost: core\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		// Read slowly, well past the 50 ms server write timeout.
		var body []byte
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := 0; ; i++ {
			if i == 2 {
				time.Sleep(300 * time.Millisecond)
			}
			k, err := conn.Read(buf)
			body = append(body, buf[:k]...)
			if err != nil || bytes.HasSuffix(body, []byte("\r\n0\r\n\r\n")) {
				break
			}
		}
		got := 0
		if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
			plain, _ := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body[i+4:])))
			got = bytes.Count(plain, []byte(`"skus"`))
		}
		if wantAll && got != n {
			t.Fatalf("snapshot with timeout %v carried %d of %d products", snapshotTimeout, got, n)
		}
		if !wantAll && got == n {
			t.Fatalf("snapshot with timeout %v was not cut by its deadline", snapshotTimeout)
		}
	}
	f(time.Minute, true)
	f(100*time.Millisecond, false)
}
