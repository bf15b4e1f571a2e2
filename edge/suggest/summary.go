package suggest

// LoadsSummaries reports that a snapshot load needs product summaries only
// (see follow.SummarySink): the index reads names, brands, categories,
// images, slugs, popularity and the SKUs' prices and availability, never a
// description or an attribute.
func (s *Service) LoadsSummaries() bool { return true }
