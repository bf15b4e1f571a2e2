package coreclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"shopedge/core/api"
)

// TestClientSnapshotSummaries decodes the same stream in full and as
// summaries: every product is the same apart from the skipped details,
// its SKUs are its own (however many each line has), and lines are
// unchanged.
func TestClientSnapshotSummaries(t *testing.T) {
	const n = 1500
	lineOf := func(i int) string {
		p := api.Product{ID: fmt.Sprint(i), Slug: fmt.Sprintf("p-%d", i), Name: fmt.Sprintf("P \"%d\" é", i), Popularity: int64(i * 7),
			Description: strings.Repeat("d", i%5*300), Attributes: map[string]string{"a": "1", "b": fmt.Sprint(i)}}
		if i%4 != 0 {
			p.Brand, p.Image, p.Categories = "B"+fmt.Sprint(i%9), "http://img/"+fmt.Sprint(i), []string{"Root", fmt.Sprint("Leaf ", i%13)}
		}
		for k := 0; k < i%4; k++ { // 0 to 3 SKUs
			s := api.SKU{SKU: fmt.Sprintf("s%d-%d", i, k), Attributes: map[string]string{"v": "x"}, Availability: []string{api.InStock, api.LowStock, api.OutOfStock}[k%3]}
			if k != 1 {
				s.Price = &api.Money{Amount: int64(i*100 + k), Currency: "EUR"}
			}
			p.SKUs = append(p.SKUs, s)
		}
		b, err := json.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	c := startFake(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(api.SeqHeader, "4")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := 0; i < n; i++ {
				_, _ = w.WriteString(lineOf(i) + "\n")
			}
		})
	}, func(cfg *ClientConfig) { cfg.DecodeWorkers = 3 })
	var full []string
	if _, err := c.Snapshot(context.Background(), func(p *api.Product, _ []byte) error {
		q := *p
		q.Description, q.Attributes = "", nil
		q.SKUs = append([]api.SKU(nil), p.SKUs...)
		for k := range q.SKUs {
			q.SKUs[k].Attributes = nil
		}
		b, err := json.Marshal(&q)
		full = append(full, string(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	i := 0
	seq, err := c.SnapshotSummaries(context.Background(), func(p *api.Product, line []byte) error {
		if string(line) != lineOf(i) {
			return fmt.Errorf("line %d changed", i)
		}
		if p.Description != "" || p.Attributes != nil {
			return fmt.Errorf("line %d: details decoded", i)
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if i >= len(full) || string(b) != full[i] {
			return fmt.Errorf("line %d: summary\n%s\nfull\n%s", i, b, full[i])
		}
		i++
		return nil
	})
	if err != nil || seq != 4 || i != n {
		t.Fatalf("seq %d, %d products: %v", seq, i, err)
	}
}

// TestSummaryScanDemoCatalog decodes every line of the demo catalog as
// stored, as the core's snapshot sends it (availability spliced in), with
// white space and with another key order: every line decodes as goccy
// decodes it, and summaryScan takes the one in the core's layout (as
// sent; the stored import line has a stock member).
func TestSummaryScanDemoCatalog(t *testing.T) {
	lines := ReadDemoLines(t)
	if len(lines) < 20000 {
		t.Fatalf("demo catalog has %d lines", len(lines))
	}
	var d SummaryDecoder
	for i, line := range lines {
		if i%SampleStride() != 0 {
			continue
		}
		var p api.Product
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		snap := SnapshotLine(t, &p, i)
		var indented bytes.Buffer
		if err := json.Indent(&indented, snap, " ", "\t"); err != nil {
			t.Fatal(err)
		}
		var members map[string]json.RawMessage // re-encoded in sorted key order
		if err := json.Unmarshal(snap, &members); err != nil {
			t.Fatal(err)
		}
		sorted, err := json.Marshal(members)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range [][]byte{line, snap, indented.Bytes(), sorted} {
			if diff := DiffSummary(&d, v, k == 1); diff != "" {
				t.Fatalf("line %d: %s", i+1, diff)
			}
		}
	}
}

// TestSummaryScanCases decodes odd but valid lines and malformed ones
// as goccy does, and checks which of them summaryScan takes itself: only
// lines in the core's layout.
func TestSummaryScanCases(t *testing.T) {
	var d SummaryDecoder
	f := func(line string, scans bool) {
		t.Helper()
		if diff := DiffSummary(&d, []byte(line), false); diff != "" {
			t.Fatal(diff)
		}
		if got := d.Scans([]byte(line)); got != scans {
			t.Fatalf("%q: scanner takes it: %v, want %v", line, got, scans)
		}
	}
	// None of the lines below has the core's layout: goccy decodes them
	// (the scanner takes no other layout, issue 16), and the decoder
	// must hand them over whole.
	other := func(line string) {
		t.Helper()
		f(line, false)
	}
	// Escapes, surrogates (paired, lone, followed by another escape).
	other(`{"id":"a\"b\\c\/d\b\f\n\r\t","skus":[]}`)
	other(`{"name":"\u00e9\u20AC\ud83d\ude00 caf\u00E9","brand":"\u0000"}`)
	other(`{"name":"\ud800"}`)
	other(`{"name":"\udc00x"}`)
	other(`{"name":"\ud800\ud800\udc00"}`)
	other(`{"name":"\ud800\u0041"}`)
	other(`{"name":"\ud800\\u0041"}`)
	other(`{"name":"\ud800\n"}`)
	other(`{"name":"\ud83dxude00\ud83d\\ude00"}`)
	other(`{"name":"\uDBFF\uDFFF\ud83d"}`)
	// Invalid UTF-8: goccy replaces it in what it decodes, ignores it in
	// what it skips.
	other("{\"name\":\"a\xffb\xc3\"}")
	other("{\"description\":\"a\xffb\xc3\",\"id\":\"x\"}")
	other(`{"name":"ok été 😀"}`)
	// Nulls, empty arrays and objects.
	other(`{"id":null,"slug":null,"name":null,"brand":null,"image":null,"categories":null,"skus":null,"popularity":null}`)
	other(`{"categories":[null,"a",""],"skus":[null,{"price":null},{"price":{}},{"price":{"amount":null,"currency":null}},{}]}`)
	other(`{"categories":[],"skus":[]}`)
	other(`{}`)
	// Interned values and others.
	other(`{"skus":[{"sku":"s","price":{"amount":1,"currency":"USD"},"availability":"in_stock"},{"price":{"currency":"XTS","amount":-5},"availability":"soon"}]}`)
	// Keys that fold to a field, escaped or non-ASCII keys, duplicates.
	other(`{"ID":"x"}`)
	other(`{"Skus":[]}`)
	other(`{"skus":[{"SKU":"a"}]}`)
	other(`{"skus":[{"price":{"Currency":"USD"}}]}`)
	other(`{"\u0069d":"x"}`)
	other(`{"ſlug":"x"}`)
	other(`{"id":"a","id":"b"}`)
	other(`{"skus":[{"sku":"a","sku":"b"}]}`)
	other(`{"identifier":"x","Description":"d","ATTRIBUTES":{}}`)
	// Skipped values of every kind, nested.
	other(`{"attributes":{"a":[1,-2.5e+3,0.5,1E-2,true,false,null,{"b":{}},[]],"c":"\u0041\"","":""},"id":"x"}`)
	other(`{"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `,"id":"x"}`)
	other(`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `,"id":"x"}`)
	// White space.
	other(" \t{ \"id\" : \"x\" ,\r\n\"skus\" : [ { \"sku\" : \"s\" , \"price\" : { \"amount\" : 5 } } , null ] , \"categories\" : [ \"a\" , \"b\" ] } \n")
	// Numbers.
	other(`{"popularity":-0}`)
	other(`{"popularity":123456789012345678,"skus":[{"price":{"amount":-123456789012345678}}]}`)
	other(`{"popularity":9223372036854775807}`)
	other(`{"popularity":9223372036854775808}`)
	other(`{"popularity":1.5}`)
	other(`{"popularity":1e3}`)
	other(`{"popularity":"1"}`)
	// The same strings in the core's layout, where the scanner's own path
	// for that layout decodes them.
	core := func(str string, scans, coreScans bool) {
		t.Helper()
		line := `{"id":"i","slug":` + str + `,"name":"n","brand":` + str + `,"categories":[` + str + `,"c"],` +
			`"description":` + str + `,"image":"m","popularity":3,"attributes":{"a":` + str + `,` + str + `:"b"},` +
			`"skus":[{"sku":` + str + `,"price":{"amount":5,"currency":` + str + `},"attributes":{"v":` + str + `},"availability":` + str + `}]}`
		f(line, scans)
		if got := d.ScansCore([]byte(line)); got != coreScans {
			t.Fatalf("%q: core layout path takes it: %v, want %v", line, got, coreScans)
		}
	}
	for _, str := range []string{`"plain"`, `""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20AC\ud83d\ude00 caf\u00E9 \u0026"`,
		`"\ud800"`, `"\udc00x"`, `"\ud800\ud800\udc00"`, `"\ud800\u0041"`, `"\ud800\\u0041"`, `"\ud800xu0041"`, `"\ud83dxude00"`, `"\ud83d\\ude00"`,
		`"\ud800\n"`, `"\uDBFF\uDFFF\ud83d"`, `"ok été 😀 ™"`, `"in_stock"`, `"USD"`, `"x\\"`} {
		core(str, true, true)
	}
	for _, str := range []string{"\"a\xffb\"", `"\q"`, `"\u12"`, "\"a\x01\"", `"a`} {
		core(str, false, false)
	}
	core(`"USD"`+"\t", false, false) // white space: goccy takes it
	// Malformed lines and wrong types: goccy's error.
	for _, bad := range []string{`{"id":"a"`, `{"id":"a"}x`, `{"id":"a",}`, `{,"id":"a"}`, `{"x":01}`, `{"x":1.}`,
		`{"x":-}`, `{"x":tru}`, `{"x":"\q"}`, `{"x":"\u12"}`, "{\"x\":\"a\x01\"}", "{\"id\":\"a\x01\"}", `[]`, `null`,
		`{"skus":{}}`, `{"skus":[1]}`, `{"id":1}`, `{"categories":"a"}`, `{"categories":[1]}`, ` `, `{"id":"a"}}`,
		"{\"id\":\"a\"}\v", `{"id"}`, `{"id":}`, `{"skus":[{"price":[]}]}`} {
		f(bad, false)
	}
}

// TestSummaryStringsOwnTheirBytes checks that a decoded product does not
// change when the line's buffer (reused for later lines) is overwritten,
// nor when the decoder decodes the next line.
func TestSummaryStringsOwnTheirBytes(t *testing.T) {
	const in = `{"id":"p1","slug":"s-p1","name":"N\u00e9","brand":"B","categories":["c1","c2"],"image":"i","popularity":5,` +
		`"skus":[{"sku":"k","price":{"amount":7,"currency":"EUR"},"availability":"low_stock"}]}`
	want, err := GoccySummary([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(in)
	var d SummaryDecoder
	p, err := d.Decode(line)
	if err != nil || !d.Scans(line) {
		t.Fatalf("not scanned: %v", err)
	}
	kept := *p
	kept.SKUs = append([]api.SKU(nil), p.SKUs...)
	for i := range line {
		line[i] = 'x'
	}
	if _, err := d.Decode([]byte(strings.ReplaceAll(in, "p1", "p2"))); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&kept, want) {
		t.Fatalf("kept %#v\nwant %#v", kept, *want)
	}
}

// TestDecodeSummariesMalformedLine checks that a malformed line stops the
// batch with its number and goccy's error, and that the lines before it
// are delivered whole.
func TestDecodeSummariesMalformedLine(t *testing.T) {
	lines := []string{`{"id":"a","skus":[{"sku":"a1"},{"sku":"a2"}]}`, ``, `{"id":"b","skus":[{"sku":"b1"}]}`,
		`{"id":"c","skus":[{"sku":"c1"}],}`, `{"id":"d"}`}
	b := &lineBatch{summaries: true, first: 10, done: make(chan struct{})}
	for _, l := range lines {
		b.buf = append(b.buf, l...)
		b.ends = append(b.ends, len(b.buf))
	}
	b.decode()
	_, gerr := GoccySummary([]byte(lines[3]))
	if b.n != 3 || b.err == nil || b.err.Error() != "cannot decode snapshot line 13: "+gerr.Error() {
		t.Fatalf("n %d, err %v", b.n, b.err)
	}
	if got := b.prods[0].SKUs; len(got) != 2 || got[1].SKU != "a2" {
		t.Fatalf("first product's SKUs %+v", got)
	}
	if got := b.prods[2]; got.ID != "b" || len(got.SKUs) != 1 || got.SKUs[0].SKU != "b1" {
		t.Fatalf("third product %+v", got)
	}
}

// FuzzSummary checks that decoding a line as a summary agrees with goccy:
// the same product when goccy decodes it, goccy's error when it does not.
// The decoder has decoded another line first, so state left over from a
// previous line would show.
//
//	go test -run - -fuzz FuzzSummary -fuzztime 60s ./edge/coreclient/
func FuzzSummary(f *testing.F) {
	for _, s := range []string{
		`{"id":"1502983","slug":"tomtom-go-500","name":"TomTom - GO 500 5\" GPS","brand":"TomTom","categories":["Car Electronics & GPS","GPS"],"description":"…","image":"https://x/y.jpg","popularity":412,"attributes":{"color":"Black"},"skus":[{"sku":"1502983","price":{"amount":24999,"currency":"USD"},"attributes":{},"availability":"in_stock"}]}`,
		`{"name":"\u00e9\ud83d\ude00\ud800\udc00x\\\/\b\f\n\r\t","brand":"\uD834\uDD1E"}`,
		`{"name":"\ud800","slug":"\udc00\ud800\u0041"}`,
		`{"id":null,"categories":[null,"a"],"skus":[null,{"price":null},{"price":{"amount":null}}],"popularity":null}`,
		`{"attributes":{"a":{"b":[1,2.5e-3,{"c":[true,false,null,"\u0041"]}]}},"skus":[{"attributes":{"x":{"y":[]}},"sku":"s"}]}`,
		" {\t\"id\" :\r\n\"x\" , \"skus\" : [ { } ] }  ",
		`{"id":"a","skus":[{"sku":"s","price":{"amount":12,"cur`,
		`{"ID":"x","Slug":"y","skus":[{"Sku":"z","PRICE":{"Amount":1}}]}`,
		`{"popularity":-0,"skus":[{"price":{"amount":123456789012345678}}]}`,
		"{\"name\":\"\xff\xfe\",\"description\":\"\xc3\"}",
		`{"id":"a","id":"b"}`,
		`null`,
		`{"x":01}`,
		`{"id":"g1-7","slug":"e-g1-7","name":"E \u0026 \"F\"","brand":"Epson","categories":["Cables \u0026 Adapters","\ud83d\ude00"],"description":"d \u0026 \ud800x","image":"http://i/1.jpg","popularity":17,"attributes":{"ean":"088","model":"C \"n\""},"skus":[{"sku":"g1-7-0","price":{"amount":11099,"currency":"USD"},"attributes":{"variant":"White"},"availability":"low_stock"},{"sku":"g1-7-1","availability":"in_stock"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var d SummaryDecoder
		if _, err := d.Decode([]byte(`{"id":"prev","categories":["c"],"skus":[{"sku":"s","price":{"amount":1,"currency":"USD"}}]}`)); err != nil {
			t.Fatal(err)
		}
		if diff := DiffSummary(&d, line, false); diff != "" {
			t.Fatal(diff)
		}
	})
}
