package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// GenFunc generates n products from the real products src with a fixed
// seed, calling fn for each (bench/gen.Products has this shape).
type GenFunc func(n int, seed int64, src []*api.Product, fn func(*api.Product) error) error

// ReadCatalog reads an NDJSON catalog of api.Product lines, gzip-compressed
// when path ends in .gz.
func ReadCatalog(path string) ([]*api.Product, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open catalog: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("cannot read catalog %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	var ps []*api.Product
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		p := new(api.Product)
		if err := json.Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("cannot read catalog %s line %d: %w", path, line, err)
		}
		ps = append(ps, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read catalog %s: %w", path, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("catalog %s is empty", path)
	}
	return ps, nil
}

// WriteNDJSON writes products as NDJSON to w.
func WriteNDJSON(w io.Writer, ps []*api.Product) error {
	enc := json.NewEncoder(w)
	for _, p := range ps {
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("cannot encode product %s: %w", p.ID, err)
		}
	}
	return nil
}

// ProductRef is what the products scenario needs of a product.
type ProductRef struct {
	ID         string
	Slug       string
	Popularity int64
}

// ByPopularity sorts refs most popular first (ties by id), so Zipf rank 0
// is the best seller.
func ByPopularity(refs []ProductRef) {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Popularity != refs[j].Popularity {
			return refs[i].Popularity > refs[j].Popularity
		}
		return refs[i].ID < refs[j].ID
	})
}
