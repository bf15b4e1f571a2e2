package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

func ndjsonLine(t testing.TB, p *api.Product, stock map[string]int64) string {
	t.Helper()
	b, err := json.Marshal(importLine{Product: *p, Stock: stock})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportReportsBadLinesAndImportsTheRest(t *testing.T) {
	svc, log, _ := newTestService(t)
	ctx := context.Background()
	var lines []string
	const n = 50
	for i := 1; i <= n; i++ {
		id := fmt.Sprint("p", i)
		lines = append(lines, ndjsonLine(t, testProduct(id, id+"-a", id+"-b"), map[string]int64{id + "-a": int64(i)}))
	}
	// Bad lines, by 1-based number (after the 50 good ones).
	bad := map[int]string{
		51: `{"id":"x1","bogus":1}`,
		52: `not json`,
		53: ndjsonLine(t, testProduct("x3", "pre-a"), nil), // SKU of another product
		55: ndjsonLine(t, &api.Product{ID: "x5", Slug: "x5", Name: "", SKUs: []api.SKU{{SKU: "x5"}}}, nil),
		56: ndjsonLine(t, testProduct("x6", "x6"), map[string]int64{"other": 1}),
		57: ndjsonLine(t, testProduct("x7", "x7"), map[string]int64{"x7": -1}),
	}
	lines = append(lines, bad[51], bad[52], bad[53], "   ", bad[55], bad[56], bad[57])
	lines = append(lines, ndjsonLine(t, testProduct("last", "last"), map[string]int64{"last": 3}))
	body := strings.Join(lines, "\n") // no trailing newline on the last line
	// The SKU line 53 claims belongs to a product from before the import:
	// batches commit concurrently, so a claim on a SKU of another line of
	// the same import would be won by whichever batch commits first.
	if _, err := svc.Put(ctx, testProduct("pre", "pre-a")); err != nil {
		t.Fatal(err)
	}

	res, err := svc.Import(ctx, strings.NewReader(body), ImportOptions{BatchSize: 7, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != n+1 || res.Failed != 6 {
		t.Fatalf("result %+v", res)
	}
	var got []int
	for _, e := range res.Errors {
		got = append(got, e.Line)
	}
	if fmt.Sprint(got) != "[51 52 53 55 56 57]" {
		t.Fatalf("error lines %v (%+v)", got, res.Errors)
	}
	if !strings.Contains(res.Errors[0].Error, "bogus") || !strings.Contains(res.Errors[2].Error, "pre-a") ||
		!strings.Contains(res.Errors[3].Error, "name") {
		t.Fatalf("errors do not name the problem: %+v", res.Errors)
	}
	for i := 1; i <= n; i++ {
		s, err := svc.Stock(ctx, fmt.Sprint("p", i, "-a"))
		if err != nil || s.OnHand != int64(i) {
			t.Fatalf("stock of p%d-a: %+v %v", i, s, err)
		}
	}
	p, err := svc.Get(ctx, "p20")
	if err != nil || p.SKUs[0].Availability != api.InStock || p.SKUs[1].Availability != api.OutOfStock {
		t.Fatalf("p20: %+v %v", p, err)
	}
	for _, id := range []string{"x1", "x3", "x5", "x6", "x7"} {
		if _, err := svc.Get(ctx, id); api.ErrorCode(err) != api.ECodeNotFound {
			t.Fatalf("bad line %s was written: %v", id, err)
		}
	}
	if evs := events(t, log, 0); len(evs) != n+2 { // the imported products and "pre"
		t.Fatalf("%d events, want %d", len(evs), n+2)
	}
}

func TestImportErrorListIsBounded(t *testing.T) {
	svc, _, _ := newTestService(t)
	body := strings.Repeat("{}\n", 3*MaxImportErrors)
	res, err := svc.Import(context.Background(), strings.NewReader(body), ImportOptions{BatchSize: 10, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 3*MaxImportErrors || len(res.Errors) != MaxImportErrors {
		t.Fatalf("failed %d, %d errors listed", res.Failed, len(res.Errors))
	}
	for i, e := range res.Errors {
		if e.Line != i+1 {
			t.Fatalf("errors[%d] is line %d, want the first lines", i, e.Line)
		}
	}
}

func TestImportLongLine(t *testing.T) {
	svc, _, _ := newTestService(t)
	svc.cfg.ImportMaxLine = 1024
	long := ndjsonLine(t, &api.Product{ID: "big", Slug: "big", Name: "Big", Description: strings.Repeat("d", 4096),
		SKUs: []api.SKU{{SKU: "big"}}}, nil)
	body := long + "\n" + ndjsonLine(t, testProduct("ok", "ok"), nil) + "\n"
	res, err := svc.Import(context.Background(), strings.NewReader(body), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 1 || res.Failed != 1 || res.Errors[0].Line != 1 {
		t.Fatalf("result %+v", res)
	}
}
