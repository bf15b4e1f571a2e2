package config

import (
	"errors"
	"testing"
)

type vLeaf struct {
	N int `yaml:"n"`
}

func (c vLeaf) Validate() error {
	if c.N < 0 {
		return Invalid("n", "must be >= 0, got %d", c.N)
	}
	return nil
}

type vList struct {
	Items []vLeaf `yaml:"items"`
}

func (c *vList) Validate() error {
	for i, it := range c.Items {
		if err := In("items["+string(rune('0'+i))+"]", it.Validate()); err != nil {
			return err
		}
	}
	return nil
}

type vMid struct {
	Leaf  vLeaf  `yaml:"leaf"`
	List  vList  `yaml:"list"`
	Plain string `yaml:"plain"`
	Wired int    `yaml:"-"`
}

func (c vMid) Validate() error {
	if c.Wired != 7 {
		return errors.New("not wired") // a plain error names the section itself
	}
	return nil
}

type vRoot struct {
	Top  int  `yaml:"top"`
	Mid  vMid `yaml:"mid"`
	Skip vMid `yaml:"-"`
}

func (c *vRoot) Wire() { c.Mid.Wired = 7 }

func (c *vRoot) Validate() error {
	if c.Top < 0 {
		return Invalid("top", "must be >= 0")
	}
	return nil
}

// TestValidateNamesNestedSettings checks that Validate reaches sections
// at any depth (values and pointer receivers), prefixes their paths once,
// names list items, runs Wire first, validates a parent before its
// sections, and skips fields without a YAML name.
func TestValidateNamesNestedSettings(t *testing.T) {
	f := func(c *vRoot, want string) {
		t.Helper()
		err := Validate(c)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Fatalf("Validate = %q, want %q", got, want)
		}
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("%v is not a *config.Error", err)
		}
	}
	f(&vRoot{}, "")
	f(&vRoot{Mid: vMid{Leaf: vLeaf{N: -1}}}, "mid.leaf.n: must be >= 0, got -1")
	f(&vRoot{Mid: vMid{List: vList{Items: []vLeaf{{}, {N: -2}}}}}, "mid.list.items[1].n: must be >= 0, got -2")
	f(&vRoot{Top: -1, Mid: vMid{Leaf: vLeaf{N: -1}}}, "top: must be >= 0") // the parent first
	f(&vRoot{Skip: vMid{Leaf: vLeaf{N: -1}}}, "")                          // yaml:"-" is not walked
	if err := Validate(&vMid{}); err == nil || err.Error() != "not wired" {
		t.Fatalf("unwired section: %v", err)
	}
}
