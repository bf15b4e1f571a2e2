package catalog

import (
	"fmt"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/store"
)

// ScanProducts calls fn for every product in tx in id order, with
// availability filled in. Each p is freshly allocated and belongs to fn. An
// error from fn stops the scan and is returned.
func (s *Service) ScanProducts(tx store.Txn, fn func(p *api.Product) error) error {
	start := []byte(store.NSProduct)
	return tx.Scan(start, store.PrefixEnd(start), 0, func(k, v []byte) error {
		p := new(api.Product)
		if err := json.Unmarshal(v, p); err != nil {
			return fmt.Errorf("cannot decode product %s: %w", k[len(start):], err)
		}
		if err := s.fillAvailability(tx, p); err != nil {
			return err
		}
		return fn(p)
	})
}
