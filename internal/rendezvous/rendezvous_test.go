package rendezvous

import (
	"fmt"
	"slices"
	"testing"
)

func nodes(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("10.0.0.%d:9090", i+1))
	}
	return out
}

// TestOrder checks that Order is the nodes sorted by Score, highest first,
// that its head is Owner, and that a node's position does not change the
// owner (every holder of the same names agrees whatever their order).
func TestOrder(t *testing.T) {
	ns := nodes(5)
	rev := slices.Clone(ns)
	slices.Reverse(rev)
	for k := range 200 {
		key := fmt.Sprintf("sku-%d", k)
		o := Order(nil, ns, key)
		if len(o) != len(ns) {
			t.Fatalf("%s: order %v", key, o)
		}
		for i := 1; i < len(o); i++ {
			if Score(ns[o[i-1]], key) < Score(ns[o[i]], key) {
				t.Fatalf("%s: order %v not by descending score", key, o)
			}
		}
		if o[0] != Owner(ns, key) {
			t.Fatalf("%s: order starts %d, owner %d", key, o[0], Owner(ns, key))
		}
		if ns[o[0]] != rev[Owner(rev, key)] {
			t.Fatalf("%s: owner depends on the nodes' order", key)
		}
	}
	if Owner(nil, "x") != -1 || len(Order(nil, nil, "x")) != 0 {
		t.Fatal("no nodes: want no owner")
	}
	// Order appends.
	if o := Order([]int{7}, ns[:2], "k"); len(o) != 3 || o[0] != 7 {
		t.Fatalf("append: %v", o)
	}
}

// TestSpreadAndMoves checks that keys spread over the nodes and that when
// a node leaves only its keys move, each to the node second in its order.
func TestSpreadAndMoves(t *testing.T) {
	ns := nodes(4)
	count := make([]int, len(ns))
	for k := range 4000 {
		count[Owner(ns, fmt.Sprintf("sku-%d", k))]++
	}
	for i, c := range count {
		if c < 800 {
			t.Fatalf("node %d owns %d of 4000 keys: %v", i, c, count)
		}
	}
	without := slices.Delete(slices.Clone(ns), 2, 3)
	for k := range 1000 {
		key := fmt.Sprintf("sku-%d", k)
		o := Order(nil, ns, key)
		was, now := ns[o[0]], without[Owner(without, key)]
		switch {
		case was != ns[2] && now != was:
			t.Fatalf("%s moved from %s to %s though its owner stayed", key, was, now)
		case was == ns[2] && now != ns[o[1]]:
			t.Fatalf("%s: its owner left; went to %s, want its second %s", key, now, ns[o[1]])
		}
	}
}

func TestOrderAllocs(t *testing.T) {
	ns := nodes(8)
	dst := make([]int, 0, 16)
	if n := testing.AllocsPerRun(100, func() { dst = Order(dst[:0], ns, "fs-hot-1") }); n != 0 {
		t.Fatalf("Order allocates %v times", n)
	}
}
