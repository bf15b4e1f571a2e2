package configtest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"shopedge/internal/config"
)

// candidates are the values tried on a setting of each kind: out of range
// one way or the other, empty, malformed for the setting's own checks.
var candidates = map[reflect.Kind][]string{
	reflect.Int:     {"-1", "0", "1", "2000000000"},
	reflect.Int64:   {"-1", "0", "1", "1099511627776"},
	reflect.Uint64:  {"0", "1", "100000", "1099511627776"},
	reflect.Float64: {"-1", "0", "2", "NaN", "+Inf"},
	reflect.String:  {"", "no such value", "Bad Name!", "x"},
	reflect.Slice:   {"", "x", "x,x", "http://a/,http://a/", "[{}]"},
	reflect.Bool:    {"true", "false"},
}

var durations = []string{"-1s", "0s", "1ns", "1000h"}

// CheckErrorsNameSettings sets every setting of the configuration
// newCfg() returns, one at a time on a fresh valid configuration, to each
// candidate value of its kind and validates it (config.Validate, as Load
// does). Every error must be a *config.Error naming a setting (its dotted
// YAML path, or an item of a list setting: "core.addrs[1]"), and for
// every setting not in free (settings that take any value, such as
// booleans and free text) at least one value must be rejected with the
// setting's own name. It proves every validation message names the
// setting as a user writes it (the flag and variable follow from the
// path); it does not prove every invalid value is rejected.
func CheckErrorsNameSettings(tb testing.TB, newCfg func() any, free ...string) {
	tb.Helper()
	cfg := newCfg()
	if err := config.Validate(cfg); err != nil {
		tb.Fatalf("the base configuration is invalid: %v", err)
	}
	fields, err := config.Fields(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	paths := make(map[string]bool, len(fields))
	for _, f := range fields {
		paths[f.Path] = true
	}
	for _, f := range fields {
		values := candidates[kindClass(reflect.ValueOf(leafOf(cfg, f.Path)).Kind())]
		if strings.HasSuffix(f.Path, "timeout") || isDuration(cfg, f.Path) {
			values = durations
		}
		named := false
		for _, v := range values {
			c := newCfg()
			cf := fieldOf(tb, c, f.Path)
			if cf.Set(v) != nil {
				continue // not even of the setting's type
			}
			err := config.Validate(c)
			if err == nil {
				continue
			}
			var ce *config.Error
			if !errors.As(err, &ce) || !paths[strings.Split(ce.Path, "[")[0]] && !paths[listOf(ce.Path)] {
				tb.Errorf("%s=%q: %q names no setting", f.Path, v, err)
				continue
			}
			if ce.Path == f.Path || strings.HasPrefix(ce.Path, f.Path+"[") {
				named = true
			}
		}
		if !named && !slices.Contains(free, f.Path) {
			tb.Errorf("%s: no invalid value tried (%q) was reported naming it", f.Path, values)
		}
	}
}

// kindClass maps every integer and float kind to the one candidates lists.
func kindClass(k reflect.Kind) reflect.Kind {
	switch k {
	case reflect.Int8, reflect.Int16, reflect.Int32:
		return reflect.Int
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return reflect.Uint64
	case reflect.Float32:
		return reflect.Float64
	}
	return k
}

// listOf returns the list setting of an item's path: "payment.gateways"
// for "payment.gateways[0].timeout".
func listOf(path string) string {
	i := strings.IndexByte(path, '[')
	if i < 0 {
		return path
	}
	return path[:i]
}

func fieldOf(tb testing.TB, cfg any, path string) config.Field {
	tb.Helper()
	fields, err := config.Fields(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range fields {
		if f.Path == path {
			return f
		}
	}
	tb.Fatalf("no setting %s", path)
	return config.Field{}
}

// leafOf returns the value of the setting at path.
func leafOf(cfg any, path string) any {
	v := reflect.ValueOf(cfg).Elem()
	for _, name := range strings.Split(path, ".") {
		t := v.Type()
		for i := range t.NumField() {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if tag == name {
				v = v.Field(i)
				break
			}
		}
	}
	return v.Interface()
}

func isDuration(cfg any, path string) bool {
	return reflect.TypeOf(leafOf(cfg, path)).String() == "time.Duration"
}
