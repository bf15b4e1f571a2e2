package search

import (
	"slices"
	"strings"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

// catsAnswer is the category tree of one generation, with its JSON.
type catsAnswer struct {
	gen  uint64
	tree api.Categories
	val  []byte // cache value: see encodeValue
}

// Categories returns the category tree with live product counts (a
// product counts in its category and every one above it); categories
// without products are left out; children are ordered by count, then
// name. The tree is shared by every caller until the catalog changes: it
// must not be modified.
func (s *Service) Categories() api.Categories { return s.categories().tree }

func (s *Service) categories() *catsAnswer {
	gen := s.gen.Load()
	if c := s.cats.Load(); c != nil && c.gen == gen {
		return c
	}
	x := s.idx.Load()
	x.mu.RLock()
	tree := x.categories()
	x.mu.RUnlock()
	body, err := json.Marshal(tree)
	if err != nil {
		body = []byte(`{"categories":[]}`)
	}
	c := &catsAnswer{gen: gen, tree: tree, val: encodeValue(nil, "categories", body)}
	s.cats.Store(c)
	return c
}

// CategoryBySlug returns the category whose slug is slug (the node of
// that name with the most products, with its children), for the
// storefront's /c/{slug} pages. A search filters on its Name. Slugs are
// api.KeyToken of the name; when two names share one, the larger
// category has it.
func (s *Service) CategoryBySlug(slug string) (api.CategoryNode, bool) {
	x := s.idx.Load()
	x.mu.RLock()
	id, ok := x.catSlugs[slug]
	name := ""
	if ok {
		name = x.cats[id].name
	}
	x.mu.RUnlock()
	if !ok {
		return api.CategoryNode{}, false
	}
	var best *api.CategoryNode
	var walk func(ns []api.CategoryNode)
	walk = func(ns []api.CategoryNode) {
		for i := range ns {
			if ns[i].Name == name && (best == nil || ns[i].Count > best.Count) {
				best = &ns[i]
			}
			walk(ns[i].Children)
		}
	}
	walk(s.Categories().Categories)
	if best == nil {
		return api.CategoryNode{}, false
	}
	return *best, true
}

// categories builds the tree; the caller holds x.mu.
func (x *index) categories() api.Categories {
	counts := make([]int, len(x.nodes))
	for i := len(x.nodes) - 1; i >= 0; i-- {
		counts[i] += int(x.nodes[i].leafN)
		if p := x.nodes[i].parent; p >= 0 {
			counts[p] += counts[i]
		}
	}
	var build func(ids []uint32) []api.CategoryNode
	build = func(ids []uint32) []api.CategoryNode {
		var out []api.CategoryNode
		for _, id := range ids {
			if counts[id] == 0 {
				continue
			}
			c := &x.cats[x.nodes[id].name]
			out = append(out, api.CategoryNode{Name: c.name, Slug: c.slug, Count: counts[id], Children: build(x.nodes[id].kids)})
		}
		slices.SortFunc(out, func(a, b api.CategoryNode) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Name, b.Name)
		})
		return out
	}
	var roots []uint32
	for id := range x.nodes {
		if x.nodes[id].parent < 0 {
			roots = append(roots, uint32(id))
		}
	}
	tree := api.Categories{Categories: build(roots)}
	if tree.Categories == nil {
		tree.Categories = []api.CategoryNode{}
	}
	return tree
}
