package changelog

import "shopedge/internal/teststore"

// newTestStore opens an empty embedded store, closed at cleanup.
var newTestStore = teststore.OpenEmbedded
