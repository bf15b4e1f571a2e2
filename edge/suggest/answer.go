package suggest

import (
	"slices"
	"strings"

	"shopedge/core/api"
)

// Suggest answers query q with at most limit products (1..MaxLimit), as
// GET /v1/suggest would, without the answer cache. Errors are *api.Error
// (invalid query or limit).
func (s *Service) Suggest(q string, limit int) (*api.Suggest, error) {
	if limit < 1 || limit > s.cfg.MaxLimit {
		return nil, api.Invalid("limit", "must be a number from 1 to %d", s.cfg.MaxLimit)
	}
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	if err := st.q.ParseQuery(q, s.cfg.MaxQueryBytes, s.cfg.MaxQueryWords); err != nil {
		return nil, api.Invalid("q", "%v", err)
	}
	return s.answer(st, limit), nil
}

// answer looks up the normalised query in st.q and builds the answer.
func (s *Service) answer(st *state, limit int) *api.Suggest {
	x := s.idx.Load()
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.lookup(st, limit)
	out := &api.Suggest{
		Query:      string(st.q.Text),
		Products:   make([]api.SuggestProduct, 0, len(st.hits)),
		Categories: make([]api.SuggestCategory, 0, min(len(st.cats), s.cfg.MaxCategories)),
	}
	// The URLs and images of the answer are written into one buffer
	// (never changed after: the strings point into it).
	var buf []byte
	for _, o := range st.hits {
		r := &x.recs[o]
		b := x.tx.blob(r)
		if cap(buf)-len(buf) < 512 {
			buf = make([]byte, 0, 192*len(st.hits)+512)
		}
		start := len(buf)
		buf = x.tx.appendURL(buf, r, &b)
		mid := len(buf)
		buf = x.tx.appendImage(buf, r, &b)
		p := api.SuggestProduct{
			ID:         b.text[fID],
			Name:       b.text[fName],
			URL:        b2s(buf[start:mid]),
			Image:      b2s(buf[mid:]),
			Highlights: s.highlights(st, b.text[fName]),
		}
		if r.has() {
			p.Price = &api.Money{Amount: r.price, Currency: x.tx.text(r, &b, fCurrency)}
		}
		out.Products = append(out.Products, p)
	}
	for i := 0; i < len(st.cats) && i < s.cfg.MaxCategories; i++ {
		out.Categories = append(out.Categories, api.SuggestCategory{Name: x.tx.cats[st.cats[i].id], Count: st.cats[i].count})
	}
	return out
}

// highlights returns the byte ranges of name matched by the query's
// constraints, sorted and merged.
func (s *Service) highlights(st *state, name string) [][2]int {
	hl := make([][2]int, 0, len(st.cons))
	if st.name.Normalize(name) != nil {
		return hl
	}
	for i := range st.cons {
		for _, a := range st.cons[i].alts {
			aw := b2s(st.altWord(a))
			for wi, w := range st.name.Words {
				if strings.HasPrefix(b2s(st.name.Word(wi)), aw) {
					hl = append(hl, [2]int{int(w.OStart), int(st.name.OrigEnd(w.Start + int32(len(aw)) - 1))})
				}
			}
		}
	}
	slices.SortFunc(hl, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	merged := hl[:0]
	for _, h := range hl {
		if n := len(merged); n > 0 && h[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], h[1])
			continue
		}
		merged = append(merged, h)
	}
	return merged
}
