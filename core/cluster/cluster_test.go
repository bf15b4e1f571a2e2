package cluster

import (
	"fmt"
	"testing"
	"time"
)

// TestHeat checks the two ways a SKU gets hot at a core and that leave
// forgets what it counted: by rate (a SKU counted rate times in a second,
// or in the second before), and by checkouts in flight at once (the SKU
// whose rate contention cut).
func TestHeat(t *testing.T) {
	h := newHeat()
	const now = 100
	// By concurrency: the 4th checkout in flight makes it hot.
	var done [][]string
	for i := range 4 {
		h.arrive(now, 0, 4)
		got := h.classify(now, []string{"a", "cold"}, 0, 4)
		if want := map[bool]string{true: "a", false: ""}[i == 3]; got != want && !(i == 3 && got == "cold") {
			t.Fatalf("checkout %d in flight: hot %q, want %q", i+1, got, want)
		}
		done = append(done, []string{"a", "cold"})
	}
	for _, s := range done {
		h.leave(s)
	}
	if len(h.inflight) != 0 || h.allInflight != 0 {
		t.Fatalf("after every leave: in flight %v, all %d", h.inflight, h.allInflight)
	}
	if got := h.classify(now, []string{"a"}, 0, 4); got != "" {
		t.Fatalf("one in flight after the others left: hot %q", got)
	}
	h.leave([]string{"a"})
	// By rate: the 3rd in a second at rate 3, and still the next second.
	h2 := newHeat()
	for i := range 3 {
		h2.arrive(now, 3, 0)
		got := h2.classify(now, []string{"b"}, 3, 0)
		h2.leave([]string{"b"})
		if (got == "b") != (i == 2) {
			t.Fatalf("checkout %d in the second: hot %q", i+1, got)
		}
	}
	if got := h2.classify(now+1, []string{"b"}, 3, 0); got != "b" {
		t.Fatalf("the second after a hot one: hot %q, want b", got)
	}
	if got := h2.classify(now+3, []string{"b"}, 3, 0); got != "" {
		t.Fatalf("two seconds later: hot %q, want none", got)
	}
	if !h2.arrive(now+3, 0, 1) || h2.arrive(now+3, 0, 0) {
		t.Fatal("arrive: concurrency 1 must look at every cart, 0 at none")
	}
}

// TestOwner checks rendezvous ownership: every core computes the same
// owner, SKUs spread over the cores, and when a core leaves only its SKUs
// move.
func TestOwner(t *testing.T) {
	until := time.Now().Add(time.Hour).UnixMilli()
	var ms []member
	for i := range 4 {
		ms = append(ms, member{ID: fmt.Sprintf("core-%d", i), Addr: fmt.Sprintf("h:%d", i), UntilMS: until})
	}
	view := func(self string, live []member) *Cluster {
		c := &Cluster{id: self}
		l := append([]member(nil), live...)
		c.live.Store(&l)
		return c
	}
	a, b := view("core-0", ms), view("core-3", ms)
	count := map[string]int{}
	before := map[string]string{}
	for i := range 400 {
		sku := fmt.Sprintf("sku-%d", i)
		oa, ob := a.owner(sku), b.owner(sku)
		if oa.ID != ob.ID {
			t.Fatalf("%s: core-0 says %s, core-3 says %s", sku, oa.ID, ob.ID)
		}
		count[oa.ID]++
		before[sku] = oa.ID
	}
	for _, m := range ms {
		if count[m.ID] < 60 {
			t.Fatalf("owners spread badly: %v", count)
		}
	}
	// core-2 leaves (its lease ends).
	gone := append([]member(nil), ms...)
	gone[2].UntilMS = time.Now().Add(-time.Second).UnixMilli()
	c := view("core-0", gone)
	for sku, was := range before {
		now := c.owner(sku).ID
		if now == "core-2" {
			t.Fatalf("%s still owned by the expired core", sku)
		}
		if was != "core-2" && now != was {
			t.Fatalf("%s moved from %s to %s though its owner stayed", sku, was, now)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Heartbeat = time.Millisecond },
		func(c *Config) { c.MemberLease = c.Heartbeat },
		func(c *Config) { c.HotRate = -1 },
		func(c *Config) { c.HotConcurrency = -1 },
		func(c *Config) { c.AdvertiseAddr = "nohost" },
		func(c *Config) { c.AdvertiseAddr = "h:0" },
	} {
		c := DefaultConfig()
		bad(&c)
		if c.Validate() == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
}
