package main

import (
	"bufio"
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"

	"shopedge/core/catalog"
)

const maxAttrs = 20

// readIcecat reads the Icecat JSONL.gz file.
func readIcecat(file string) ([]*Line, error) {
	r, err := openMaybeGzip(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []*Line
	for n := 1; sc.Scan(); n++ {
		l, err := icecatLine(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", file, n, err)
		}
		if l != nil {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", file, err)
	}
	return out, nil
}

type kv struct {
	k string
	v any
}

// orderedFields decodes a JSON object keeping its key order.
func orderedFields(b []byte) ([]kv, error) {
	d := stdjson.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	var out []kv
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, kv{t.(string), v})
	}
	return out, nil
}

func icecatLine(b []byte) (*Line, error) {
	fields, err := orderedFields(b)
	if err != nil {
		return nil, err
	}
	get := map[string]any{}
	for _, f := range fields {
		get[f.k] = f.v
	}
	str := func(k string) string { s, _ := get[k].(string); return s }
	id := str("id")
	if id == "" || catalog.ValidID("id", id) != nil {
		return nil, nil
	}
	id = "ic-" + id
	var cents int64
	if n, ok := get["price"].(stdjson.Number); ok {
		f, _ := n.Float64()
		cents = round(f)
	}
	attrs := map[string]string{}
	if eans, ok := get["ean"].([]any); ok && len(eans) > 0 {
		if e, ok := eans[0].(string); ok && e != "" {
			attrs["ean"] = e
		}
	}
	if s := str("name"); s != "" {
		attrs["model"] = clean(s, catalog.MaxAttrValueLen, false)
	}
	nattr := 0
	for _, f := range fields {
		key, val, ok := icecatAttr(f)
		if !ok {
			continue
		}
		nattr++
		if len(attrs) < maxAttrs {
			attrs[key] = val
		}
	}
	year := 0
	if d := str("date_released"); len(d) >= 4 {
		year, _ = strconv.Atoi(d[:4])
	}
	pop := int64(20*nattr) + 25*int64(max(0, year-2000)) + int64(hash(id)%50)
	cats := icecatCategory(str("attr_t_product_type"), str("attr_t_type"), str("title"))
	return product(id, str("title"), str("supplier"), cats, str("short_description"), str("img_500x500"), pop, cents, attrs), nil
}

// icecatAttr turns attr_t_/attr_n_/attr_b_ fields into display attributes.
func icecatAttr(f kv) (key, val string, ok bool) {
	var kind string
	switch {
	case strings.HasPrefix(f.k, "attr_t_"), strings.HasPrefix(f.k, "attr_n_"), strings.HasPrefix(f.k, "attr_b_"):
		kind, key = f.k[5:6], f.k[7:]
	default:
		return "", "", false
	}
	key = strings.Trim(strings.ReplaceAll(strings.ReplaceAll(key, "__", "_"), "_", " "), " ")
	if key == "" || len(key) > catalog.MaxAttrKeyLen {
		return "", "", false
	}
	switch v := f.v.(type) {
	case string:
		val = v
	case stdjson.Number:
		if fl, err := v.Float64(); err == nil {
			val = strconv.FormatFloat(fl, 'f', -1, 64)
		}
	case bool:
		val = map[bool]string{true: "Yes", false: "No"}[v]
	}
	_ = kind
	val = clean(val, catalog.MaxAttrValueLen, false)
	return key, val, val != ""
}

type bestBuyItem struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Brand       string   `json:"brand"`
	Categories  []string `json:"categories"`
	Price       float64  `json:"price"`
	Image       string   `json:"image"`
	Popularity  int64    `json:"popularity"`
}

// readBestBuy reads the Best Buy phones JSON array.
func readBestBuy(file string) ([]*Line, error) {
	r, err := openMaybeGzip(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", file, err)
	}
	var items []bestBuyItem
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("cannot decode %s: %w", file, err)
	}
	out := make([]*Line, 0, len(items))
	for i, it := range items {
		// The image is named after Best Buy's SKU: .../4984700_sb.jpg.
		sku, _, _ := strings.Cut(path.Base(it.Image), "_")
		if _, err := strconv.ParseUint(sku, 10, 64); err != nil || sku == "" {
			sku = fmt.Sprintf("x%016x", hash(it.Name))
		}
		id := "bb-" + sku
		var cats []string
		for j, c := range it.Categories {
			if c = clean(c, catalog.MaxCategoryLen, false); c != "" && j < catalog.MaxCategories {
				cats = append(cats, c)
			}
		}
		if it.Name == "" {
			fmt.Fprintf(os.Stderr, "%s: item %d has no name; skipped\n", file, i)
			continue
		}
		out = append(out, product(id, it.Name, it.Brand, cats, it.Description, it.Image, max(0, it.Popularity), round(it.Price*100), nil))
	}
	return out, nil
}
