package varnish

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// configs/varnish.vcl is what users copy: it must be exactly what the
// generator makes for make cluster's default addresses, so it is a valid
// VCL as it stands (and varnishd compiles it).
func TestTemplateIsTheDefaultOutput(t *testing.T) {
	dir := t.TempDir()
	path, err := WriteVCL(dir, Options{Root: root, Edges: []string{"127.0.0.1:8081", "127.0.0.1:8082"}, Purgers: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "configs", "varnish.vcl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("configs/varnish.vcl differs from scripts/varnish-vcl.sh's output for the default addresses:\n%s", got)
	}
	varnishd, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(varnishd, filepath.Join(dir, "work"), path); err != nil {
		t.Fatal(err)
	}
}

// The generator fills in every edge and purger, and refuses what is not an
// address.
func TestWriteVCL(t *testing.T) {
	dir := t.TempDir()
	path, err := WriteVCL(dir, Options{Root: root, Edges: []string{"10.0.0.5:8080", "edge-3.internal:81", "10.0.0.6:8080"},
		Purgers: []string{"10.0.0.9", "10.1.0.0/16"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	vcl := string(b)
	for _, want := range []string{`.host = "edge-3.internal";`, `.port = "81";`, "edges.add_backend(edge3);",
		`"10.0.0.9";`, `"10.1.0.0"/16;`, ".interval = 1s;"} {
		if !strings.Contains(vcl, want) {
			t.Errorf("generated VCL lacks %q", want)
		}
	}
	if strings.Contains(vcl, `"127.0.0.1"`) || strings.Contains(vcl, "8082") {
		t.Error("generated VCL keeps the template's example addresses")
	}
	for _, o := range []Options{
		{Root: root, Edges: []string{"10.0.0.5"}, Purgers: []string{"10.0.0.9"}},
		{Root: root, Edges: []string{"10.0.0.5:80"}, Purgers: []string{"core.internal"}},
		{Root: root, Edges: nil, Purgers: []string{"10.0.0.9"}},
	} {
		if _, err := WriteVCL(dir, o); err == nil {
			t.Errorf("WriteVCL(%v, %v) accepted", o.Edges, o.Purgers)
		}
	}
}
