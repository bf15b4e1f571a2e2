// Package demodata turns the shared public catalogs (Best Buy phones,
// Open Icecat products) into api.Product values for suggest tests, the
// evaluation tool and benchmarks, and generates large catalogs by
// recombining their real brands, name tokens and categories with a fixed
// seed. Fields the sources lack (popularity of Icecat products, stock
// bands) are derived deterministically from the product id.
package demodata

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"strings"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// LoadBestBuy reads bestbuy-phones.json (a JSON array).
func LoadBestBuy(path string) ([]*api.Product, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var in []struct {
		Name       string   `json:"name"`
		Brand      string   `json:"brand"`
		Categories []string `json:"categories"`
		Price      float64  `json:"price"`
		Image      string   `json:"image"`
		Popularity int64    `json:"popularity"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	out := make([]*api.Product, 0, len(in))
	seen := map[string]bool{}
	for i, p := range in {
		id := bestBuyID(p.Image)
		if id == "" || seen[id] {
			id = fmt.Sprintf("bb%d", i)
		}
		seen[id] = true
		var price *api.Money
		if p.Price > 0 {
			price = &api.Money{Amount: int64(math.Round(p.Price * 100)), Currency: "USD"}
		}
		out = append(out, product(id, p.Name, p.Brand, p.Categories, p.Image, p.Popularity, price))
	}
	return out, nil
}

// bestBuyID takes the SKU number from an image URL ".../4984700_sb.jpg".
func bestBuyID(image string) string {
	base := image[strings.LastIndexByte(image, '/')+1:]
	if i := strings.IndexByte(base, '_'); i > 0 {
		return base[:i]
	}
	return ""
}

// LoadIcecat reads up to max products (all when max <= 0) of
// icecat-products.jsonl.gz for which keep (when not nil) returns true.
func LoadIcecat(path string, max int, keep func(title string) bool) ([]*api.Product, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var out []*api.Product
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() && (max <= 0 || len(out) < max) {
		var p struct {
			ID       string `json:"id"`
			Title    string `json:"title"`
			Supplier string `json:"supplier"`
			Price    int64  `json:"price"`
			Image    string `json:"img_500x500"`
			Type     string `json:"attr_t_product_type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", path, err)
		}
		if p.ID == "" || p.Title == "" || keep != nil && !keep(p.Title) {
			continue
		}
		cats := []string{"Electronics"}
		if p.Type != "" && strings.IndexFunc(p.Type, func(r rune) bool { return r >= 'A' && r <= 'z' }) >= 0 {
			cats = append(cats, p.Type)
		}
		var price *api.Money
		if p.Price > 0 {
			price = &api.Money{Amount: p.Price, Currency: "USD"}
		}
		out = append(out, product("ic"+p.ID, p.Title, p.Supplier, cats, p.Image, int64(hash(p.ID)%5000), price))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return out, nil
}

func product(id, name, brand string, cats []string, image string, pop int64, price *api.Money) *api.Product {
	return &api.Product{
		ID: id, Slug: Slug(name) + "-" + id, Name: name, Brand: brand, Categories: cats,
		Image: image, Popularity: pop,
		SKUs: []api.SKU{{SKU: id, Price: price, Availability: Band(id)}},
	}
}

// Band derives a stable availability band from id: one product in ten is
// out of stock, one in ten low.
func Band(id string) string {
	switch hash(id) % 10 {
	case 0:
		return api.OutOfStock
	case 1:
		return api.LowStock
	}
	return api.InStock
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// Slug returns the lower-case ASCII words of name joined by dashes.
func Slug(name string) string { return api.KeyToken(name) }

// ReadNDJSON reads api.Product lines (gzip-compressed when path ends in
// .gz).
func ReadNDJSON(path string) ([]*api.Product, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", path, err)
		}
		r = zr
	}
	var out []*api.Product
	dec := json.NewDecoder(r)
	for {
		p := new(api.Product)
		if err := dec.Decode(p); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", path, err)
		}
		out = append(out, p)
	}
}

// WriteNDJSON writes products as gzip-compressed NDJSON.
func WriteNDJSON(path string, products []*api.Product) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	for _, p := range products {
		if err := enc.Encode(p); err != nil {
			f.Close()
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Close()
}

// LoadCatalog reads a catalog in any of the supported forms: NDJSON of
// api.Product (.ndjson, .ndjson.gz), Best Buy's JSON array (.json) or
// Icecat's JSON lines (.jsonl.gz).
func LoadCatalog(path string) ([]*api.Product, error) {
	switch {
	case strings.HasSuffix(path, ".jsonl.gz"):
		return LoadIcecat(path, 0, nil)
	case strings.HasSuffix(path, ".json"):
		return LoadBestBuy(path)
	}
	return ReadNDJSON(path)
}
