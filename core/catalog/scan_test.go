package catalog

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/store"
)

// TestScanProductJSONMatchesScanProducts checks the spliced JSON against
// json.Marshal of the decoded products, over hand-made awkward products
// and the head of the demo catalog, with every availability band.
func TestScanProductJSONMatchesScanProducts(t *testing.T) {
	svc, _, st := newTestService(t)
	ctx := context.Background()
	var lines bytes.Buffer
	awkward := []string{
		`{"id":"q1","slug":"q-1","name":"Quote \" and brace } in \"skus\":[ name","brand":"B","categories":["A","B"],"popularity":3,` +
			`"attributes":{"skus":"[{\"sku\":1}]","x":"}"},"skus":[{"sku":"q1-a","price":{"amount":100,"currency":"USD"},"attributes":{"color":"{red}"}},{"sku":"q1.b~","attributes":{}}],"stock":{"q1-a":1}}`,
		`{"id":"q2","slug":"q-2","name":"No price","popularity":0,"skus":[{"sku":"q2"}],"stock":{"q2":500}}`,
		`{"id":"q3","slug":"q-3","name":"<b>html</b> & co","description":"line\nbreak \u2028","popularity":4,"skus":[{"sku":"q3","price":{"amount":1,"currency":"JPY"}}]}`,
	}
	for _, l := range awkward {
		lines.WriteString(l + "\n")
	}
	if f, err := os.Open("../../scripts/demo/catalog.ndjson.gz"); err == nil {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 4<<20)
		for n := 0; n < 400 && sc.Scan(); n++ {
			lines.Write(sc.Bytes())
			lines.WriteByte('\n')
		}
		f.Close()
	}
	res, err := svc.Import(ctx, &lines, ImportOptions{})
	if err != nil || res.Failed != 0 {
		t.Fatalf("import: %v %+v", err, res.Errors)
	}
	// Every band: set some SKUs low and some in stock (the rest stay out).
	i := 0
	err = st.View(ctx, func(tx store.Txn) error {
		return svc.ScanProducts(tx, func(p *api.Product) error {
			for _, k := range p.SKUs {
				i++
				switch i % 3 {
				case 1:
					defer svc.SetStock(ctx, k.SKU, 2) //nolint:errcheck // checked by the comparison below
				case 2:
					defer svc.SetStock(ctx, k.SKU, 1000) //nolint:errcheck
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var all []*api.Product
	bands := map[string]int{}
	err = st.View(ctx, func(tx store.Txn) error {
		return svc.ScanProducts(tx, func(p *api.Product) error {
			for _, k := range p.SKUs {
				bands[k.Availability]++
			}
			all = append(all, p)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Most popular first; ties keep id order.
	slices.SortStableFunc(all, func(a, b *api.Product) int { return cmp.Compare(b.Popularity, a.Popularity) })
	var want [][]byte
	for _, p := range all {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	if len(all) < 100 || all[0].Popularity == all[len(all)-1].Popularity {
		t.Fatalf("%d products: want many, of differing popularity", len(all))
	}
	if bands[api.InStock] == 0 || bands[api.LowStock] == 0 || bands[api.OutOfStock] == 0 {
		t.Fatalf("not every band covered: %v", bands)
	}
	n := 0
	err = st.View(ctx, func(tx store.Txn) error {
		return svc.ScanProductJSON(tx, func(b []byte) error {
			if n >= len(want) || !bytes.Equal(b, want[n]) {
				return fmt.Errorf("product %d:\n got %s\nwant %s", n, b, want[min(n, len(want)-1)])
			}
			n++
			return nil
		})
	})
	if err != nil || n != len(want) {
		t.Fatalf("%v after %d of %d", err, n, len(want))
	}
	// An error from fn, at any product, stops the scan and is returned.
	stop := errors.New("stop")
	for _, at := range []int{0, 1, 255, 256, len(want) - 1} {
		calls := 0
		err = st.View(ctx, func(tx store.Txn) error {
			return svc.ScanProductJSON(tx, func([]byte) error {
				if calls++; calls > at {
					return stop
				}
				return nil
			})
		})
		if err != stop || calls != at+1 {
			t.Fatalf("stop at %d: %v after %d calls", at, err, calls)
		}
	}
}

func TestPopularity(t *testing.T) {
	f := func(v string, want int64, wantErr bool) {
		t.Helper()
		got, err := popularity([]byte(v))
		if got != want || (err != nil) != wantErr {
			t.Fatalf("popularity(%s) = %d, %v; want %d (error %v)", v, got, err, want, wantErr)
		}
	}
	f(`{"id":"a","description":"\"popularity\":9","popularity":412,"attributes":{"popularity":"7"}}`, 412, false)
	f(`{"id":"a","skus":[]}`, 0, false)
	f(`{"id":"a","popularity":-3}`, -3, false)
	f(`{"id":"a","popularity":1e3}`, 0, true)
	f(`not json`, 0, true)
	f(`{"id":"a","name":"x,\"popularity\":5","popularity":6,"skus":[]}`, 6, false)
	f(`{"id":"a","popularity":12345678901234567890}`, 0, true) // overflows int64
	f(`{"id":"a","popularity": 8}`, 8, false)                  // white space: goccy
	f(`{"popularity":8,"id":"a"}`, 8, false)                   // first key: goccy
}

func TestFindSKUsRejectsWhatItCannotSplice(t *testing.T) {
	f := func(v string, want bool) {
		t.Helper()
		if _, ok := findSKUs([]byte(v), nil); ok != want {
			t.Fatalf("findSKUs(%s) = %v, want %v", v, ok, want)
		}
	}
	f(`{"id":"a","skus":[{"sku":"a"}]}`, true)
	f(`{"id":"a","skus":[]}`, true)
	f(`{"id":"a","skus":[{"sku":"a","availability":"in_stock"}]}`, false)
	f(`{"id":"a","skus":[{}]}`, false)
	f(`{"id":"a","skus":[{"price":{"amount":1}}]}`, false)
	f(`{"id":"a","skus":[{"sku":1}]}`, false)
	f(`{"id":"a","skus":[{"sku":"a"}]} x`, false)
	f(`{"id":"a","skus":[{"sku":"a"}]`, false)
	f(`{"id":"a\"}","skus":[{"sku":"a"},{"sku":"b","attributes":{"k":"v}"}}]}`, true)
	f(`[]`, false)
	f(`{"id":"a\\","skus":[{"sku":"a"}]}`, true)        // ends in an escaped backslash
	f(`{"id":"a\\\"b\\\\","skus":[{"sku":"a"}]}`, true) // escaped quote between escaped backslashes
	f(`{"id":"a\"}`, false)                             // the only quote after a is escaped
}

// TestFindLastSKUsAgreesWithGoccy: the shortcut from the last "skus" key
// either finds exactly the SKUs goccy decodes from the top-level array, in
// order, or declines (the snapshot then re-encodes the product with goccy).
// It proves the positions name the right SKUs; it does not prove the
// splice around them (TestScanProductJSON* compare whole outputs).
func TestFindLastSKUsAgreesWithGoccy(t *testing.T) {
	f := func(v string, wantShortcut bool) {
		t.Helper()
		got, ok := findSKUs([]byte(v), nil)
		if ok != wantShortcut {
			t.Fatalf("findSKUs(%s) ok = %v, want %v", v, ok, wantShortcut)
		}
		if !ok {
			return
		}
		var p api.Product
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			t.Fatalf("findSKUs(%s) took what goccy rejects: %v", v, err)
		}
		if len(got) != len(p.SKUs) {
			t.Fatalf("findSKUs(%s) found %d SKUs, goccy %d", v, len(got), len(p.SKUs))
		}
		for i, at := range got {
			var id string
			if err := json.Unmarshal([]byte(v[at.idStart:at.idEnd]), &id); err != nil || id != p.SKUs[i].SKU || v[at.close] != '}' {
				t.Fatalf("findSKUs(%s) SKU %d at %+v is %q, goccy %q", v, i, at, id, p.SKUs[i].SKU)
			}
		}
	}
	f(`{"id":"a","skus":[{"sku":"a"},{"sku":"b","price":{"amount":1,"currency":"EUR"}}]}`, true)
	f(`{"id":"a","skus":[]}`, true)
	f(`{"id":"a", "skus" :[{"sku":"a"}]}`, false) // not as json.Marshal writes it: goccy decides
	f(`{"id":"a","description":"\"skus\":[{\"sku\":\"x\"}]","skus":[{"sku":"a"}]}`, true)
	f(`{"id":"a","skus":[{"sku":"a"}],"description":"\"skus\":[{\"sku\":\"x\"}]"}`, false)
	f(`{"id":"a","skus":[{"sku":"a"}],"name":"b"}`, false)
	f(`{"id":"a","skus":[{"sku":"a","attributes":{"skus":"[1]"}}]}`, true)
	f(`{"id":"a","x":{"skus":[{"sku":"n"}]},"skus":[{"sku":"a"}]}`, true)
	f(`{"id":"a","skus":[{"sku":"a"}],"x":{"skus":[{"sku":"n"}]}}`, false)
	f(`{"id":"a","skus":[{"sku":"a","availability":"in_stock"}]}`, false)
	f(`{"id":"a","skus":[{"sku":"a"}]} x`, false)
	f(`{"id":"a\\","skus":[{"sku":"a"}]}`, true)
	f(`"skus":[{"sku":"a"}]}`, false)
	// The key further than the tail the shortcut looks in first.
	long := `{"id":"a","description":"` + strings.Repeat("d", 3000) + `","skus":[`
	for i := range 60 {
		long += fmt.Sprintf(`{"sku":"s%d","attributes":{"colour":"blue and green"}},`, i)
	}
	f(strings.TrimSuffix(long, ",")+"]}", true)
	f(`{"id":"a","description":"`+strings.Repeat("d", 3000)+`","skus":[{"sku":"a"}]}`, true)
}

// TestLastArrayKeyMatchesLastIndex compares lastArrayKey with
// bytes.LastIndex on hand-picked and random inputs.
func TestLastArrayKeyMatchesLastIndex(t *testing.T) {
	key := []byte(`"skus":[`)
	cases := []string{
		``, `[`, `"skus":[`, `x"skus":[`, `"skus":[[`, `"skus":["skus":[`, `{"a":[1],"skus":[{"sku":"a"}]}`,
		`{"skus":[{"sku":"[x"}],"b":[2]}`, `"skus":`, `skus":[`, `[[[[`, `{"skus":[],"skus":[]}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`"skus:[]{},x`)
	for range 5000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if rng.IntN(3) == 0 {
			at := rng.IntN(len(b) + 1)
			b = append(b[:at], append(append([]byte(nil), key...), b[at:]...)...)
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := lastArrayKey([]byte(c), key), bytes.LastIndex([]byte(c), key); got != want {
			t.Fatalf("lastArrayKey(%q) = %d, want %d", c, got, want)
		}
	}
}
