package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"shopedge/internal/openapi"
	"shopedge/internal/openapi/openapitest"
)

// TestDocumentIsValid31 loads the whole document with kin-openapi, which
// validates it with its OpenAPI 3.1 rules (and every $ref resolves). It
// fails on a broken file: a schema of an unknown type, a dangling $ref, a
// response without a description all stop Load.
func TestDocumentIsValid31(t *testing.T) {
	v, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Doc().OpenAPI; got != "3.1.0" {
		t.Fatalf("openapi = %q", got)
	}
	for _, broken := range []string{
		strings.Replace(string(openapi.Full()), `"#/components/schemas/Money"`, `"#/components/schemas/Nope"`, 1),
		strings.Replace(string(openapi.Full()), `"type": "integer"`, `"type": "int"`, 1),
	} {
		if _, err := openapitest.Load([]byte(broken)); err == nil {
			t.Fatal("a broken document loaded")
		}
	}
}

// TestServedDocuments checks what each binary serves: an edge, the public
// boundary, advertises no admin, internal or operations route (and no
// security scheme or schema only those use); a core every route it
// serves and none it does not (the edge's document is searched as text:
// no mention at all of what it must not advertise). Both load as valid 3.1 documents.
func TestServedDocuments(t *testing.T) {
	f := func(tier openapi.Tier, want, never []string) {
		t.Helper()
		b, err := openapi.Document(tier)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openapitest.Load(b); err != nil {
			t.Fatalf("%s document: %v", tier, err)
		}
		var doc struct {
			Paths      map[string]map[string]any
			Components map[string]map[string]any
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, p := range want {
			if doc.Paths[p] == nil {
				t.Errorf("%s document lacks %s", tier, p)
			}
		}
		for _, p := range never {
			if doc.Paths[p] != nil || tier == openapi.Edge && strings.Contains(string(b), p) {
				t.Errorf("%s document mentions %s", tier, p)
			}
		}
	}
	f(openapi.Edge,
		[]string{"/v1/products/{id}", "/products/{slug}", "/v1/suggest", "/v1/search", "/v1/categories", "/v1/carts", "/v1/checkout", "/v1/orders/{id}/cancel", "/healthz", "/readyz", "/openapi.json"},
		[]string{"/internal/", "/admin/", "/metrics", "/debug/pprof", "internalToken", "adminToken", "\"Changes\"", "\"Stock\"", "ImportResult"})
	f(openapi.Core,
		[]string{"/v1/carts", "/v1/carts/{id}/items/{sku}", "/v1/checkout", "/v1/orders/{id}", "/admin/v1/products/{id}", "/admin/v1/stock/{sku}", "/admin/v1/import", "/admin/v1/purge", "/admin/v1/refunds", "/admin/v1/payments/unresolved", "/internal/v1/snapshot", "/internal/v1/changes", "/internal/v1/products/{id}", "/metrics", "/healthz", "/openapi.json"},
		[]string{"/v1/products/{id}", "/products/{slug}", "/v1/suggest", "/v1/search", "/v1/categories"})
}
