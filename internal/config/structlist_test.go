package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type testTarget struct {
	Gateway string `yaml:"gateway"`
	Weight  int    `yaml:"weight"`
}

type testRule struct {
	Name    string        `yaml:"name"`
	Timeout time.Duration `yaml:"timeout"`
	Tags    []string      `yaml:"tags"`
	Targets []testTarget  `yaml:"targets"`
}

func (r *testRule) SetDefaults() { r.Timeout = 5 * time.Second }

type testListConfig struct {
	Pay struct {
		Rules []testRule `yaml:"rules"`
	} `yaml:"pay"`
}

// Lists of structs: from YAML (items start from their defaults, nested
// lists work, errors name the item), from one variable as a flow or JSON
// sequence, and printed back in flow style.
func TestStructLists(t *testing.T) {
	var c testListConfig
	err := Decode(&c, []byte("pay:\n  rules:\n    - name: a\n      tags: [x, y]\n      targets:\n        - {gateway: g1, weight: 3}\n    - name: b\n      timeout: 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []testRule{
		{Name: "a", Timeout: 5 * time.Second, Tags: []string{"x", "y"}, Targets: []testTarget{{"g1", 3}}},
		{Name: "b", Timeout: time.Second, Targets: nil},
	}
	if !reflect.DeepEqual(c.Pay.Rules, want) {
		t.Fatalf("decoded %+v, want %+v", c.Pay.Rules, want)
	}
	f := func(doc, wantErr string) {
		t.Helper()
		var c testListConfig
		err := Decode(&c, []byte(doc))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%q: error %v, want one containing %q", doc, err, wantErr)
		}
	}
	f("pay:\n  rules:\n    - nmae: a\n", "pay.rules[0].nmae")
	f("pay:\n  rules:\n    - name: a\n    - timeout: soon\n", "pay.rules[1].timeout")
	f("pay:\n  rules:\n    - targets: [{gateway: g, wieght: 1}]\n", "pay.rules[0].targets[0].wieght")
	f("pay:\n  rules: abc\n", "pay.rules: want a list")
	f("pay:\n  rules: [abc]\n", "pay.rules[0] must be a mapping")

	var e testListConfig
	env := map[string]string{"SHOPEDGE_PAY_RULES": `[{"name": "j", "targets": [{"gateway": "g2", "weight": 1}]}]`}
	if err := Load(&e, nil, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}); err != nil {
		t.Fatal(err)
	}
	if len(e.Pay.Rules) != 1 || e.Pay.Rules[0].Name != "j" || e.Pay.Rules[0].Timeout != 5*time.Second || e.Pay.Rules[0].Targets[0].Gateway != "g2" {
		t.Fatalf("from a variable: %+v", e.Pay.Rules)
	}
	if err := Load(&e, []string{"-pay.rules=[{name: k, bogus: 1}]"}, Options{LookupEnv: func(string) (string, bool) { return "", false }}); err == nil ||
		!strings.Contains(err.Error(), "pay.rules") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("bad flag list: %v", err)
	}
	fields, err := Fields(&c)
	if err != nil {
		t.Fatal(err)
	}
	if s := fields[0].String(); !strings.HasPrefix(s, "[{name: a") || strings.Contains(s, "\n") {
		t.Fatalf("flow form %q", s)
	}
}
