// Package rendezvous picks the owner of a key among a set of nodes by
// rendezvous (highest random weight) hashing: the node with the highest
// score hash(node, key) owns the key. Anyone holding the same node names
// computes the same owner without talking to anyone, and when a node
// leaves only the keys it owned move (to their second-highest node).
//
// The edges (edge/forward) and the cores (core/cluster) both use it to
// agree on the core that owns a SKU. The node names are the cores'
// addresses, host:port as the edges list them in core.addrs and as each
// core advertises itself in its membership record (cluster.advertise_addr,
// else its listening address): the two tiers already hold these
// addresses, so agreeing needs no new name on either side, and a core's
// address is what an edge dials anyway. Member ids would not do: a core
// draws a new random id at every start, which no edge can know. When the
// two views differ (an edge lists a name the core does not advertise, a
// core the edge does not list, a core the edge thinks down), the edge's
// owner may not be the cores' owner: the core that receives the checkout
// then hands it to the owner it computes (core/cluster), which costs a hop,
// never correctness.
package rendezvous

import "github.com/cespare/xxhash/v2"

// Score returns the weight of node for key: xxhash64 of node, a zero
// byte and key.
func Score(node, key string) uint64 {
	var buf [256]byte
	b := buf[:0]
	if len(node)+1+len(key) > len(buf) {
		b = make([]byte, 0, len(node)+1+len(key))
	}
	b = append(append(append(b, node...), 0), key...)
	return xxhash.Sum64(b)
}

// Owner returns the index in nodes of the owner of key, or -1 when nodes
// is empty. Equal scores (a name listed twice) go to the first.
func Owner(nodes []string, key string) int {
	best, bestScore := -1, uint64(0)
	for i, n := range nodes {
		if s := Score(n, key); best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// Order appends to dst the indexes of nodes from the owner of key down to
// the node that would own it last (highest score first), and returns the
// extended slice: the order in which to fail over when the owner cannot
// take a request. With 16 nodes or fewer it allocates nothing but dst's
// growth.
func Order(dst []int, nodes []string, key string) []int {
	var stack [16]uint64
	scores := stack[:0]
	if len(nodes) > len(stack) {
		scores = make([]uint64, 0, len(nodes))
	}
	start := len(dst)
	for i, n := range nodes {
		s := Score(n, key)
		// Insertion sort, descending; equal scores keep index order.
		j := len(scores)
		scores = append(scores, s)
		dst = append(dst, i)
		for j > 0 && scores[j-1] < s {
			scores[j], dst[start+j] = scores[j-1], dst[start+j-1]
			j--
		}
		scores[j], dst[start+j] = s, i
	}
	return dst
}
