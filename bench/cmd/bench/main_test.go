package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitURLs(t *testing.T) {
	host, paths, err := splitURLs([]string{"http://127.0.0.1:8080/v1/products/1", "http://127.0.0.1:8080/v1/suggest?q=sam+tv"})
	if err != nil || host != "127.0.0.1:8080" || !reflect.DeepEqual(paths, []string{"/v1/products/1", "/v1/suggest?q=sam+tv"}) {
		t.Fatalf("host %q paths %q err %v", host, paths, err)
	}
	bad := func(urls ...string) {
		t.Helper()
		if _, _, err := splitURLs(urls); err == nil {
			t.Fatalf("splitURLs(%q) accepted", urls)
		}
	}
	bad()
	bad("127.0.0.1:8080/x")
	bad("https://127.0.0.1/x")
	bad("http://a:1/x", "http://b:1/x")
}

func TestSplitSettings(t *testing.T) {
	got := splitSettings(`A=1  SHOPEDGE_PAYMENT_GATEWAYS=[{name: a, kind: inprocess}] -x=2`)
	want := []string{"A=1", "SHOPEDGE_PAYMENT_GATEWAYS=[{name: a, kind: inprocess}]", "-x=2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("splitSettings = %q, want %q", got, want)
	}
}
