package api

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
)

// TestClientSnapshotSummaries decodes the same stream in full and as
// summaries: every product is the same apart from the skipped details,
// its SKUs are its own (however many each line has), and lines are
// unchanged.
func TestClientSnapshotSummaries(t *testing.T) {
	const n = 1500
	lineOf := func(i int) string {
		p := Product{ID: fmt.Sprint(i), Slug: fmt.Sprintf("p-%d", i), Name: fmt.Sprintf("P \"%d\" é", i), Popularity: int64(i * 7),
			Description: strings.Repeat("d", i%5*300), Attributes: map[string]string{"a": "1", "b": fmt.Sprint(i)}}
		if i%4 != 0 {
			p.Brand, p.Image, p.Categories = "B"+fmt.Sprint(i%9), "http://img/"+fmt.Sprint(i), []string{"Root", fmt.Sprint("Leaf ", i%13)}
		}
		for k := 0; k < i%4; k++ { // 0 to 3 SKUs
			s := SKU{SKU: fmt.Sprintf("s%d-%d", i, k), Attributes: map[string]string{"v": "x"}, Availability: []string{InStock, LowStock, OutOfStock}[k%3]}
			if k != 1 {
				s.Price = &Money{Amount: int64(i*100 + k), Currency: "EUR"}
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
		ctx.Response.Header.Set(SeqHeader, "4")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := 0; i < n; i++ {
				_, _ = w.WriteString(lineOf(i) + "\n")
			}
		})
	}, func(cfg *ClientConfig) { cfg.DecodeWorkers = 3 })
	var full []string
	if _, err := c.Snapshot(context.Background(), func(p *Product, _ []byte) error {
		q := *p
		q.Description, q.Attributes = "", nil
		q.SKUs = append([]SKU(nil), p.SKUs...)
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
	seq, err := c.SnapshotSummaries(context.Background(), func(p *Product, line []byte) error {
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
