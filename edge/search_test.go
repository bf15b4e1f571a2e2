package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"shopedge/core/api"
	"shopedge/edge/follow/fakecore"
	"shopedge/internal/proctest"
)

// TestSingleEdgeSearch starts the real edge binary on a fake core's feed:
// /v1/search and /v1/categories answer from the snapshot (attributes
// included, though the snapshot is decoded as summaries), and a price
// change on the core reaches search results through the change feed.
func TestSingleEdgeSearch(t *testing.T) {
	bin := bins.Path(t, "edge")
	core := fakecore.New()
	for i, name := range []string{"Galaxy Phone Black", "Galaxy Phone White", "Pixel Phone", "Galaxy Case"} {
		id := string(rune('a' + i))
		core.Upsert(&api.Product{ID: id, Slug: api.Slug(name, id), Name: name, Brand: "Acme", Categories: []string{"Phones", "Smartphones"},
			Attributes: map[string]string{"color": []string{"Black", "White"}[i%2]},
			SKUs:       []api.SKU{{SKU: id, Price: &api.Money{Amount: int64(1000 * (i + 1)), Currency: "USD"}, Availability: api.InStock}}})
	}
	if err := core.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Stop)
	p, addr := proctest.StartServing(t, "edge", bin, proctest.CleanEnv("SHOPEDGE_ADMIN_TOKEN=secret-token", "SHOPEDGE_CORE_ADDRS="+core.Addr()),
		"-server.addr=127.0.0.1:0", "-pages.cache-bytes=33554432", "-search.attr-min-products=1", "-follow.wait=200ms")
	defer p.Stop(5 * time.Second)
	base := "http://" + addr
	proctest.CheckServing(t, base, 10*time.Second, "secret-token")
	search := func(query string) api.SearchResult {
		t.Helper()
		r := proctest.Get(t, base+"/v1/search?"+query)
		if r.StatusCode() != 200 {
			t.Fatalf("%s: %d %s", query, r.StatusCode(), r.Body())
		}
		var out api.SearchResult
		if err := json.Unmarshal(r.Body(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// "Galaxy Case" matches too: its category "Phones" is a form of "phone".
	res := search("q=galaxy+phone&category=Smartphones&sort=price_asc")
	if res.Total != 3 || res.Products[0].ID != "a" || len(res.Facets.Attributes["color"]) != 2 {
		t.Fatalf("search: %+v", res)
	}
	if r := proctest.Get(t, base+"/v1/search?q=galaxy&attr.size=L"); r.StatusCode() != 400 || !strings.Contains(string(r.Body()), "attr.size") {
		t.Fatalf("unknown attribute: %d %s", r.StatusCode(), r.Body())
	}
	if r := proctest.Get(t, base+"/v1/categories"); r.StatusCode() != 200 || !strings.Contains(string(r.Body()), `"slug":"smartphones","count":4`) {
		t.Fatalf("categories: %d %s", r.StatusCode(), r.Body())
	}
	core.Upsert(&api.Product{ID: "b", Slug: "galaxy-phone-white-b", Name: "Galaxy Phone White", Brand: "Acme", Categories: []string{"Phones", "Smartphones"},
		SKUs: []api.SKU{{SKU: "b", Price: &api.Money{Amount: 500, Currency: "USD"}, Availability: api.InStock}}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		res = search("q=galaxy+phone&category=Smartphones&sort=price_asc")
		if res.Products[0].ID == "b" && res.Products[0].Price.Amount == 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the price change did not reach search: %+v", res.Products)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
