package search

// typoTrie is the vocabulary as a character trie, built with the sorted
// terms (finishLoad) and kept current by termID, so that a typo
// correction is a walk of a few hundred nodes instead of a few thousand
// binary searches over the sorted terms (the walk it replaces took
// ~185 µs a word at 1M products, and the first pass over the query log
// spent most of its extra time there; typo_test.go keeps it as the
// reference the trie's corrections are checked against).
//
// Nodes are 16 bytes without pointers: a node's children are a list by
// ascending character (first, then next), its term the term id + 1 of
// the word ending there (0: none). Terms are never removed (a term whose
// df is 0 is skipped by the walk, as by the sorted terms), so the trie
// only grows, by the new characters of new words.
type typoTrie struct {
	nodes []trieNode // nodes[root] is the empty prefix; nodes[0] is unused (0 links nowhere)
}

type trieNode struct {
	r     rune
	term  uint32 // term id + 1, 0 when no term ends here
	first uint32 // the first child, 0 when none
	next  uint32 // the next sibling, 0 when none
}

const root = 1

// child returns the child of n by r (0 when none).
func (tr *typoTrie) child(n uint32, r rune) uint32 {
	for c := tr.nodes[n].first; c != 0; c = tr.nodes[c].next {
		switch cr := tr.nodes[c].r; {
		case cr == r:
			return c
		case cr > r:
			return 0
		}
	}
	return 0
}

// insert adds term t spelled s.
func (tr *typoTrie) insert(s string, t uint32) {
	if len(tr.nodes) == 0 {
		tr.nodes = append(tr.nodes, trieNode{}, trieNode{})
	}
	n := uint32(root)
	for _, r := range s {
		// Find r among n's children, or where it goes.
		prev, c := uint32(0), tr.nodes[n].first
		for c != 0 && tr.nodes[c].r < r {
			prev, c = c, tr.nodes[c].next
		}
		if c != 0 && tr.nodes[c].r == r {
			n = c
			continue
		}
		id := uint32(len(tr.nodes))
		tr.nodes = append(tr.nodes, trieNode{r: r, next: c})
		if prev == 0 {
			tr.nodes[n].first = id
		} else {
			tr.nodes[prev].next = id
		}
		n = id
	}
	tr.nodes[n].term = t + 1
}

// follow walks from n by the characters of tail (0: no term goes on so).
func (tr *typoTrie) follow(n uint32, tail []rune) uint32 {
	for _, r := range tail {
		if n = tr.child(n, r); n == 0 {
			return 0
		}
	}
	return n
}

// bytes returns the trie's size.
func (tr *typoTrie) bytes() int { return cap(tr.nodes) * 16 }

// typos appends the live terms one edit away from w (last: starting with
// a string one edit away from w): a deletion, a transposition of two
// different adjacent characters, a substitution or an insertion. An edit
// at character i keeps w's first i characters, so it is tried only at
// the nodes they reach, and a substituted or inserted character is one
// of that node's children. The terms appended may repeat (match sorts
// and compacts them).
func (x *index) typos(w string, last bool, dst []uint32) []uint32 {
	tr := &x.trie
	if len(tr.nodes) == 0 {
		return dst
	}
	var rbuf [32]rune
	rs := rbuf[:0]
	for _, r := range w {
		rs = append(rs, r)
	}
	// path[i]: the node of rs[:i].
	var pbuf [33]uint32
	path := append(pbuf[:0], root)
	for _, r := range rs {
		n := tr.child(path[len(path)-1], r)
		if n == 0 {
			break
		}
		path = append(path, n)
	}
	take := func(n uint32) {
		if n == 0 {
			return
		}
		if !last {
			if t := tr.nodes[n].term; t != 0 && x.terms[t-1].df > 0 {
				dst = append(dst, t-1)
			}
			return
		}
		dst = x.subtree(n, dst)
	}
	var one [2]rune
	for i, base := range path {
		if i < len(rs) { // deletion of rs[i]
			take(tr.follow(base, rs[i+1:]))
		}
		if i+1 < len(rs) && rs[i] != rs[i+1] { // transposition
			one[0], one[1] = rs[i+1], rs[i]
			if n := tr.follow(base, one[:]); n != 0 {
				take(tr.follow(n, rs[i+2:]))
			}
		}
		for c := tr.nodes[base].first; c != 0; c = tr.nodes[c].next {
			if i < len(rs) && tr.nodes[c].r != rs[i] { // substitution
				take(tr.follow(c, rs[i+1:]))
			}
			take(tr.follow(c, rs[i:])) // insertion
		}
	}
	return dst
}

// subtree appends the live terms of n's subtree (the terms starting with
// its prefix).
func (x *index) subtree(n uint32, dst []uint32) []uint32 {
	tr := &x.trie
	if t := tr.nodes[n].term; t != 0 && x.terms[t-1].df > 0 {
		dst = append(dst, t-1)
	}
	for c := tr.nodes[n].first; c != 0; c = tr.nodes[c].next {
		dst = x.subtree(c, dst)
	}
	return dst
}
