package search

import (
	"slices"
	"strings"

	"shopedge/core/api"
	"shopedge/edge/textnorm"
)

// oracle answers searches by a linear scan over the live products, from
// DESIGN.md's semantics written out plainly: no index, no bitmaps, no
// buckets. It shares with the index only the normaliser, the stems and
// oneEdit (word-level definitions) and niceRanges (the price facet's
// bounds, a presentation choice).
type oracle struct {
	cfg      Config
	products map[string]*api.Product
	seqs     map[string]uint64
	dead     map[string]uint64
	// Fixed at the snapshot load, as the index's.
	facet    map[string]bool     // facet attributes
	catAttrs map[string][]string // category name → its facet attributes, most present first
	// shown spelling of each folded value of the facet attributes: the
	// most common one at the load (ties: byte-wise smaller), then the
	// first seen of a value new to the feed
	display map[string]map[string]string
	ranges  []int64
}

func newOracle(cfg Config, snapshot []*api.Product) *oracle {
	o := &oracle{cfg: cfg, products: map[string]*api.Product{}, seqs: map[string]uint64{}, dead: map[string]uint64{},
		facet: map[string]bool{}, catAttrs: map[string][]string{}, display: map[string]map[string]string{}}
	for _, p := range snapshot {
		o.products[p.ID] = p
		o.seqs[p.ID] = 1
	}
	o.chooseFacets()
	o.chooseSpellings()
	var prices []int64
	for _, p := range o.products {
		if pr, ok := minPrice(p); ok && pr > 0 {
			prices = append(prices, pr)
		}
	}
	slices.Sort(prices)
	o.ranges = niceRanges(prices, cfg.PriceRanges)
	return o
}

// chooseFacets applies Config's rule for facet attributes to the snapshot.
func (o *oracle) chooseFacets() {
	values := map[string]map[string]bool{}
	for _, p := range o.products {
		for k, v := range p.Attributes {
			if k == "" || v == "" {
				continue
			}
			if values[k] == nil {
				values[k] = map[string]bool{}
			}
			values[k][strings.ToLower(v)] = true
		}
	}
	has := func(p *api.Product, a string) bool { return p.Attributes[a] != "" }
	type share struct {
		a string
		s float64
	}
	perCat := map[string][]share{}
	catSize := map[string]int{}
	for _, p := range o.products {
		for _, c := range pathNames(p) {
			catSize[c]++
		}
	}
	for a, vs := range values {
		if len(vs) < 2 || len(vs) > o.cfg.AttrMaxValues {
			continue
		}
		n, perCatN := 0, map[string]int{}
		for _, p := range o.products {
			if has(p, a) {
				n++
				for _, c := range pathNames(p) {
					perCatN[c]++
				}
			}
		}
		total := len(o.products)
		if total >= o.cfg.AttrMinProducts && float64(n)/float64(total) >= o.cfg.AttrMinShare {
			o.facet[a] = true
		}
		for c, size := range catSize {
			if size >= o.cfg.AttrMinProducts && float64(perCatN[c]) >= o.cfg.AttrMinShare*float64(size) {
				o.facet[a] = true
				perCat[c] = append(perCat[c], share{a, float64(perCatN[c]) / float64(size)})
			}
		}
	}
	for c, ss := range perCat {
		slices.SortFunc(ss, func(x, y share) int {
			if x.s != y.s {
				if x.s > y.s {
					return -1
				}
				return 1
			}
			return strings.Compare(x.a, y.a)
		})
		for _, s := range ss[:min(len(ss), o.cfg.AttrFacets)] {
			o.catAttrs[c] = append(o.catAttrs[c], s.a)
		}
	}
}

// chooseSpellings fixes the shown spelling of each facet value: the one
// most products of the snapshot have.
func (o *oracle) chooseSpellings() {
	n := map[string]map[string]int{}
	for _, p := range o.products {
		for k, v := range p.Attributes {
			if o.facet[k] && v != "" {
				if n[k] == nil {
					n[k] = map[string]int{}
				}
				n[k][v]++
			}
		}
	}
	for k, counts := range n {
		o.display[k] = map[string]string{}
		for v, c := range counts {
			f := strings.ToLower(v)
			cur, ok := o.display[k][f]
			if !ok || c > counts[cur] || c == counts[cur] && v < cur {
				o.display[k][f] = v
			}
		}
	}
}

// shown returns the facet spelling of value v of attribute a.
func (o *oracle) shown(a, v string) string {
	if d, ok := o.display[a][strings.ToLower(v)]; ok {
		return d
	}
	return v
}

// pathNames returns the distinct non-empty category names of p's path.
func pathNames(p *api.Product) []string {
	var out []string
	for _, c := range p.Categories {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func minPrice(p *api.Product) (int64, bool) {
	var best int64
	ok := false
	for _, s := range p.SKUs {
		if s.Price != nil && (!ok || s.Price.Amount < best) {
			best, ok = s.Price.Amount, true
		}
	}
	return best, ok
}

func bandOf(p *api.Product) string {
	if len(p.SKUs) == 0 {
		return api.OutOfStock
	}
	best := api.OutOfStock
	for _, s := range p.SKUs {
		switch s.Availability {
		case api.OutOfStock:
		case api.LowStock:
			if best == api.OutOfStock {
				best = api.LowStock
			}
		default:
			best = api.InStock
		}
	}
	return best
}

func normWords(s string) []string {
	n := textnorm.NewNormalizer()
	if n.Normalize(s) != nil {
		return nil
	}
	return strings.Fields(string(n.Text))
}

// fields returns p's words by field: title (name, brand), category
// (path names), attribute (values of facet attributes).
func (o *oracle) fields(p *api.Product) [nFields][]string {
	var f [nFields][]string
	f[fTitle] = append(normWords(p.Name), normWords(p.Brand)...)
	for _, c := range p.Categories {
		f[fCat] = append(f[fCat], normWords(c)...)
	}
	for k, v := range p.Attributes {
		if o.facet[k] {
			f[fAttr] = append(f[fAttr], normWords(v)...)
		}
	}
	return f
}

// wordMatch returns the predicate of query word w (DESIGN.md): exact
// (equal, shared stem, or prefix for the last word) when some live word
// matches that way, else one edit for words of TypoMinChars or more.
func (o *oracle) wordMatch(w string, last bool, vocab map[string]bool) func(string) bool {
	exact := func(t string) bool { return t == w || shareStem(w, t) || last && strings.HasPrefix(t, w) }
	for t := range vocab {
		if exact(t) {
			return exact
		}
	}
	if runes(w) < o.cfg.TypoMinChars {
		return func(string) bool { return false }
	}
	return func(t string) bool {
		if oneEdit(t, w) {
			return true
		}
		if last {
			rs := []rune(t)
			for k := 1; k <= len(rs); k++ {
				if oneEdit(string(rs[:k]), w) {
					return true
				}
			}
		}
		return false
	}
}

func (o *oracle) search(p api.SearchParams) *api.SearchResult {
	words := normWords(p.Query)
	vocab := map[string]bool{}
	fieldsOf := map[string][nFields][]string{}
	for id, pr := range o.products {
		f := o.fields(pr)
		fieldsOf[id] = f
		for _, ws := range f {
			for _, w := range ws {
				vocab[w] = true
			}
		}
	}
	preds := make([]func(string) bool, len(words))
	for i, w := range words {
		preds[i] = o.wordMatch(w, i == len(words)-1, vocab)
	}
	// text score, or -1 when the product does not match: (E, T) as
	// (W+1)*E + T, E the words the title has as typed, T the words the
	// title matches.
	score := func(id string) int {
		e, t := 0, 0
		f := fieldsOf[id]
		for i, pred := range preds {
			any := false
			for _, ws := range f {
				for _, w := range ws {
					any = any || pred(w)
				}
			}
			if !any {
				return -1
			}
			if slices.Contains(f[fTitle], words[i]) && pred(words[i]) {
				e++
			}
			if slices.ContainsFunc(f[fTitle], pred) {
				t++
			}
		}
		return (len(preds)+1)*e + t
	}
	// the filters: facet kind → predicate
	inCats := func(pr *api.Product) bool {
		for _, c := range pathNames(pr) {
			if slices.Contains(p.Categories, c) {
				return true
			}
		}
		return false
	}
	inBrands := func(pr *api.Product) bool { return slices.Contains(p.Brands, pr.Brand) }
	inPrice := func(pr *api.Product) bool {
		v, ok := minPrice(pr)
		return ok && v >= p.PriceMin && (p.PriceMax == 0 || v <= p.PriceMax)
	}
	inAttr := func(a string) func(*api.Product) bool {
		return func(pr *api.Product) bool {
			v := pr.Attributes[a]
			//lint:ignore SA6005 the index folds values with strings.ToLower, so the oracle compares the same way (EqualFold folds a few runes differently)
			return o.facet[a] && v != "" && slices.ContainsFunc(p.Attributes[a], func(s string) bool { return strings.ToLower(s) == strings.ToLower(v) })
		}
	}
	type flt struct {
		key  string
		pass func(*api.Product) bool
	}
	var fs []flt
	if len(p.Categories) > 0 {
		fs = append(fs, flt{"category", inCats})
	}
	if len(p.Brands) > 0 {
		fs = append(fs, flt{"brand", inBrands})
	}
	if p.PriceMin > 0 || p.PriceMax > 0 {
		fs = append(fs, flt{"price", inPrice})
	}
	for a := range p.Attributes {
		fs = append(fs, flt{"attr." + a, inAttr(a)})
	}
	scores := map[string]int{}
	for id := range o.products {
		scores[id] = score(id)
	}
	passAll := func(pr *api.Product, skip string) bool {
		if scores[pr.ID] < 0 || p.InStock && bandOf(pr) == api.OutOfStock {
			return false
		}
		for _, f := range fs {
			if f.key != skip && !f.pass(pr) {
				return false
			}
		}
		return true
	}
	var res []*api.Product
	for _, pr := range o.products {
		if passAll(pr, "") {
			res = append(res, pr)
		}
	}
	out := &api.SearchResult{Query: p.Query, Total: len(res), Page: p.Page, PerPage: p.PerPage}
	o.sortResults(res, p, scores, len(words) > 0)
	lo := min((p.Page-1)*p.PerPage, len(res))
	hi := min(lo+p.PerPage, len(res))
	out.Products = []api.SearchProduct{}
	for _, pr := range res[lo:hi] {
		out.Products = append(out.Products, o.render(pr))
	}
	// facets
	count := func(skip string, value func(*api.Product) []string) map[string]int {
		c := map[string]int{}
		for _, pr := range o.products {
			if passAll(pr, skip) {
				for _, v := range value(pr) {
					c[v]++
				}
			}
		}
		return c
	}
	list := func(c map[string]int, selected []string) []api.FacetValue {
		var all []api.FacetValue
		for v, n := range c {
			if n > 0 {
				all = append(all, api.FacetValue{Value: v, Count: n})
			}
		}
		sortFacet(all)
		all = all[:min(len(all), o.cfg.FacetValues)]
		for _, s := range selected {
			i := slices.IndexFunc(all, func(f api.FacetValue) bool { return f.Value == s })
			if i < 0 {
				all = append(all, api.FacetValue{Value: s, Count: c[s]})
				i = len(all) - 1
			}
			all[i].Selected = true
		}
		sortFacet(all)
		if all == nil {
			all = []api.FacetValue{}
		}
		return all
	}
	out.Facets.Category = list(count("category", pathNames), p.Categories)
	out.Facets.Brand = list(count("brand", func(pr *api.Product) []string {
		if pr.Brand == "" {
			return nil
		}
		return []string{pr.Brand}
	}), p.Brands)
	pc := count("price", func(pr *api.Product) []string {
		v, ok := minPrice(pr)
		if !ok || v < 0 {
			return nil
		}
		i := 0
		for i+1 < len(o.ranges) && o.ranges[i+1] <= v {
			i++
		}
		return []string{string(rune('a' + i))}
	})
	hasPrice := p.PriceMin > 0 || p.PriceMax > 0
	for i, lo := range o.ranges {
		b := api.PriceBucket{Min: lo, Count: pc[string(rune('a'+i))]}
		if i+1 < len(o.ranges) {
			b.Max = o.ranges[i+1]
		}
		b.Selected = hasPrice && p.PriceMin == b.Min && (b.Max == 0 && p.PriceMax == 0 || b.Max > 0 && p.PriceMax == b.Max-1)
		out.Facets.Price = append(out.Facets.Price, b)
	}
	out.Facets.Attributes = map[string][]api.FacetValue{}
	var shown []string
	for _, c := range p.Categories {
		for _, a := range o.catAttrs[c] {
			if !slices.Contains(shown, a) && len(shown) < o.cfg.AttrFacets {
				shown = append(shown, a)
			}
		}
	}
	for a := range p.Attributes {
		if o.facet[a] && !slices.Contains(shown, a) {
			shown = append(shown, a)
		}
	}
	for _, a := range shown {
		var selected []string
		for _, v := range p.Attributes[a] {
			if s := o.shown(a, v); !slices.Contains(selected, s) {
				selected = append(selected, s)
			}
		}
		out.Facets.Attributes[a] = list(count("attr."+a, func(pr *api.Product) []string {
			if v := pr.Attributes[a]; v != "" {
				return []string{o.shown(a, v)}
			}
			return nil
		}), selected)
	}
	return out
}

func (o *oracle) popScore(pr *api.Product) int64 {
	switch bandOf(pr) {
	case api.InStock:
		return pr.Popularity + o.cfg.InStockBoost
	case api.LowStock:
		return pr.Popularity + o.cfg.LowStockBoost
	}
	return pr.Popularity + o.cfg.OutOfStockBoost
}

func (o *oracle) sortResults(res []*api.Product, p api.SearchParams, scores map[string]int, hasWords bool) {
	byPop := func(a, b *api.Product) int {
		sa, sb := o.popScore(a), o.popScore(b)
		if sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	}
	slices.SortFunc(res, func(a, b *api.Product) int {
		switch p.Sort {
		case api.SortPriceAsc, api.SortPriceDesc:
			va, oka := minPrice(a)
			vb, okb := minPrice(b)
			if oka != okb {
				if oka {
					return -1
				}
				return 1
			}
			if !oka {
				return byPop(a, b)
			}
			c := 0
			if va != vb {
				c = -1
				if va > vb {
					c = 1
				}
			} else {
				c = strings.Compare(a.ID, b.ID)
			}
			if p.Sort == api.SortPriceDesc {
				c = -c
			}
			return c
		case api.SortRelevance:
			if hasWords && scores[a.ID] != scores[b.ID] {
				return scores[b.ID] - scores[a.ID]
			}
		}
		return byPop(a, b)
	})
}

func (o *oracle) render(pr *api.Product) api.SearchProduct {
	sp := api.SearchProduct{ID: pr.ID, Name: pr.Name, URL: "/products/" + pr.Slug, Image: pr.Image, Availability: bandOf(pr)}
	var cur string
	if v, ok := minPrice(pr); ok {
		for _, s := range pr.SKUs {
			if s.Price != nil && s.Price.Amount == v {
				cur = s.Price.Currency
				break
			}
		}
		sp.Price = &api.Money{Amount: v, Currency: cur}
	}
	return sp
}

// upsert and remove mirror the feed's rules: a state not newer than the
// one held is ignored; a deleted id remembers the deletion's seq.
func (o *oracle) upsert(p *api.Product, seq uint64) {
	if s, ok := o.seqs[p.ID]; ok && seq <= s {
		return
	}
	if s, ok := o.dead[p.ID]; ok && seq <= s {
		return
	}
	delete(o.dead, p.ID)
	o.products[p.ID] = p
	o.seqs[p.ID] = seq
	for k, v := range p.Attributes {
		if o.facet[k] && v != "" {
			if o.display[k] == nil {
				o.display[k] = map[string]string{}
			}
			if f := strings.ToLower(v); o.display[k][f] == "" {
				o.display[k][f] = v
			}
		}
	}
}

func (o *oracle) remove(id string, seq uint64) {
	if s, ok := o.seqs[id]; ok {
		if seq <= s {
			return
		}
		delete(o.products, id)
		delete(o.seqs, id)
		o.dead[id] = seq
		return
	}
	if s, ok := o.dead[id]; !ok || seq > s {
		o.dead[id] = seq
	}
}
