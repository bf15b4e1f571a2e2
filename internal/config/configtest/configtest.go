// Package configtest checks a tier's committed configuration file against
// its defaults. Only tests import it.
package configtest

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"shopedge/internal/config"
)

// CheckDefaultsFile fails the test unless the YAML file at path lists every
// setting of C with the value defaults() gives it (see checkDefaultsFile).
func CheckDefaultsFile[C any](tb testing.TB, path string, defaults func() C) {
	tb.Helper()
	if err := checkDefaultsFile(path, defaults); err != nil {
		tb.Fatal(err)
	}
}

// checkDefaultsFile decodes the file strictly into a zero C (an unknown key
// fails, a missing key leaves a zero that differs from the default), checks
// that every key is present even where the default is zero, and that
// loading the file through config.LoadFile onto the defaults changes
// nothing.
func checkDefaultsFile[C any](path string, defaults func() C) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var fromFile C
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fromFile); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	def := defaults()
	if !reflect.DeepEqual(fromFile, def) {
		return fmt.Errorf("%s differs from the defaults:\nfile    %+v\ndefault %+v", path, fromFile, def)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	paths, err := config.Paths(&def)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if !hasPath(tree, p) {
			return fmt.Errorf("%s lacks %s", path, p)
		}
	}
	c := defaults()
	if err := config.LoadFile(&c, path); err != nil {
		return err
	}
	if !reflect.DeepEqual(c, def) {
		return fmt.Errorf("loading %s changed the defaults: %+v", path, c)
	}
	return nil
}

// hasPath reports whether the dotted path names a key of tree.
func hasPath(tree map[string]any, path string) bool {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := tree[head]
	if !ok {
		return false
	}
	if !nested {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && hasPath(sub, rest)
}
