// Command democatalog builds shopedge's demo catalog from the real data in
// the shared data directory: Open Icecat electronics (JSONL.gz) and Best
// Buy's cell-phone department (JSON). It writes the NDJSON import format of
// POST /admin/v1/import (one product per line with a "stock" object), gzip
// compressed, sorted by id, byte-for-byte deterministic.
//
//	go run ./scripts/democatalog -data ../shared/data/catalog -o scripts/demo/catalog.ndjson.gz
//
// Mapping rules (also in scripts/demo/ATTRIBUTION.md):
//   - ids: "ic-{icecat id}" and "bb-{Best Buy SKU from the image URL}"; one
//     SKU per product with the product's id.
//   - names: Icecat "title", Best Buy "name", cut to 300 bytes on a rune
//     boundary; control characters become spaces.
//   - slugs: the name lower-cased to [a-z0-9-] (at most 80 bytes), "-", id.
//   - categories: Best Buy's path as is; Icecat items by icecatRules
//     (categories.go) on attr_t_product_type, attr_t_type, then the title.
//   - prices: Icecat integer cents, Best Buy dollars rounded to cents; a
//     missing or zero price gives a SKU without price (not purchasable).
//   - popularity: Best Buy's field. Icecat has none: 20 × the number of
//     attributes Icecat documents for the item (richer data sheets belong
//     to more prominent products) + 25 × (release year − 2000, at least 0)
//   - hash(id) mod 50 to break ties deterministically.
//   - stock: from FNV-1a of the id mod 100: 0–7 → 0 (out of stock),
//     8–19 → 1–10 (low stock), else 11–500 (in stock).
//   - attributes: up to 20 of Icecat's attr_t_/attr_n_/attr_b_ fields in
//     data-sheet order ("Yes"/"No" for booleans), plus the first EAN.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/core/catalog"
)

// Line is one import line: a product plus its stock per SKU.
type Line struct {
	api.Product
	Stock map[string]int64 `json:"stock"`
}

func main() {
	data := flag.String("data", "../shared/data/catalog", "directory holding icecat-products.jsonl.gz and bestbuy-phones.json")
	out := flag.String("o", "scripts/demo/catalog.ndjson.gz", "output file (gzip NDJSON)")
	stats := flag.Bool("stats", false, "print the category counts")
	flag.Parse()
	lines, err := build(*data)
	if err != nil {
		log.Fatal(err)
	}
	if *stats {
		printStats(lines)
	}
	if err := write(*out, lines); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "wrote %d products to %s\n", len(lines), *out)
}

func build(dir string) ([]*Line, error) {
	ic, err := readIcecat(filepath.Join(dir, "icecat-products.jsonl.gz"))
	if err != nil {
		return nil, err
	}
	bb, err := readBestBuy(filepath.Join(dir, "bestbuy-phones.json"))
	if err != nil {
		return nil, err
	}
	all := append(ic, bb...)
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	seen := map[string]bool{}
	out := all[:0]
	for _, l := range all {
		if seen[l.ID] {
			continue // a repeated Best Buy SKU: keep the first
		}
		seen[l.ID] = true
		if err := catalog.Validate(&l.Product); err != nil {
			return nil, fmt.Errorf("cannot use product %s: %w", l.ID, err)
		}
		out = append(out, l)
	}
	return out, nil
}

func write(path string, lines []*Line) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	bw := bufio.NewWriter(zw)
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("cannot encode %s: %w", l.ID, err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}

func printStats(lines []*Line) {
	n := map[string]int{}
	for _, l := range lines {
		n[strings.Join(l.Categories, " > ")]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return n[keys[i]] > n[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "%6d  %s\n", n[k], k)
	}
}

// --- shared helpers ---

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// stockFor returns the deterministic on-hand count of a SKU.
func stockFor(id string) int64 {
	h := hash(id)
	switch r := h % 100; {
	case r < 8:
		return 0
	case r < 20:
		return int64(1 + (h>>8)%10)
	default:
		return int64(11 + (h>>8)%490)
	}
}

// clean replaces control characters (and invalid UTF-8) by spaces, keeps
// \n and \t when multiline, trims, and cuts to max bytes on a rune boundary.
func clean(s string, max int, multiline bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			r = ' '
		case multiline && (r == '\n' || r == '\t'):
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			r = ' '
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if len(out) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimSpace(out[:cut])
	}
	return out
}

func usd(cents int64) *api.Money {
	if cents <= 0 {
		return nil
	}
	return &api.Money{Amount: cents, Currency: "USD"}
}

func product(id, name, brand string, cats []string, desc, image string, pop int64, cents int64, attrs map[string]string) *Line {
	name = clean(name, catalog.MaxNameLen, false)
	p := api.Product{
		ID: id, Slug: api.Slug(name, id), Name: name,
		Brand:       clean(brand, catalog.MaxBrandLen, false),
		Categories:  cats,
		Description: clean(desc, catalog.MaxDescriptionLen, true),
		Popularity:  pop,
		Attributes:  attrs,
		SKUs:        []api.SKU{{SKU: id, Price: usd(cents)}},
	}
	if len(image) <= catalog.MaxImageLen && (strings.HasPrefix(image, "http://") || strings.HasPrefix(image, "https://")) {
		p.Image = image
	}
	return &Line{Product: p, Stock: map[string]int64{id: stockFor(id)}}
}

func round(f float64) int64 { return int64(math.Round(f)) }

func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}
