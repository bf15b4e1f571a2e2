package api

// Money is an amount in minor units (cents) of an ISO 4217 currency.
// Money never uses floating point.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Availability bands shown on product pages. A stock change that does not
// move a SKU to another band changes no cached page and emits no event.
const (
	InStock    = "in_stock"
	LowStock   = "low_stock"
	OutOfStock = "out_of_stock"
)

// SKU is one purchasable variant of a product. A SKU with a nil Price has no
// price and cannot be bought.
type SKU struct {
	SKU        string            `json:"sku"`
	Price      *Money            `json:"price,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Availability is set by the core on the internal feed and on the edge's
	// public product JSON; the admin API ignores it.
	Availability string `json:"availability,omitempty"`
}

// Product is the catalog entry, as the admin API takes it and
// GET /internal/v1/products/{id} returns it.
type Product struct {
	ID          string            `json:"id"`
	Slug        string            `json:"slug"`
	Name        string            `json:"name"`
	Brand       string            `json:"brand,omitempty"`
	Categories  []string          `json:"categories,omitempty"` // root → leaf
	Description string            `json:"description,omitempty"`
	Image       string            `json:"image,omitempty"`
	Popularity  int64             `json:"popularity"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	SKUs        []SKU             `json:"skus"`
}

// Stock is a SKU's stock level. Available = OnHand - Reserved - Sold is never
// negative.
type Stock struct {
	SKU       string `json:"sku,omitempty"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Sold      int64  `json:"sold"`
	Available int64  `json:"available"`
}

// StockUpdate is the body of PUT /admin/v1/stock/{sku}.
type StockUpdate struct {
	OnHand *int64 `json:"on_hand"`
}

// Change-feed event types.
const (
	EventUpsert   = "upsert"    // Product holds the full new state (with availability)
	EventDelete   = "delete"    // ID names the removed product
	EventPurge    = "purge"     // Keys holds product ids or surrogate keys to drop
	EventPurgeAll = "purge_all" // drop every cached entry and reload
)

// Event is one entry of the core's change log. Seq increases strictly.
// Applying an event twice, or an older one after a newer, never moves a
// product backwards: edges compare Seq per product.
type Event struct {
	Seq     uint64   `json:"seq"`
	Type    string   `json:"type"`
	ID      string   `json:"id,omitempty"`
	Product *Product `json:"product,omitempty"`
	Keys    []string `json:"keys,omitempty"`
}

// Changes is the body of GET /internal/v1/changes?after=N.
// Last is the highest sequence the core knows of (>= every Events[i].Seq);
// an edge continues with after=Last.
type Changes struct {
	Events []Event `json:"events"`
	Last   uint64  `json:"last"`
}

// Snapshot wire format: GET /internal/v1/snapshot answers with the header
// SeqHeader set to the sequence the snapshot is consistent with, and an
// NDJSON body of Product values (availability filled in), one per line.
const SeqHeader = "X-Shopedge-Seq"

// Purge is the body of POST /admin/v1/purge.
type Purge struct {
	Keys []string `json:"keys,omitempty"`
	All  bool     `json:"all,omitempty"`
}

// CartLine is one line of a cart or order. Prices come from the catalog.
type CartLine struct {
	SKU       string `json:"sku"`
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice Money  `json:"unit_price"`
	LineTotal Money  `json:"line_total"`
}

// Cart is the body returned by the cart routes.
type Cart struct {
	ID        string     `json:"id"`
	Lines     []CartLine `json:"lines"`
	Totals    Money      `json:"totals"`
	CreatedAt int64      `json:"created_at"` // unix seconds
	UpdatedAt int64      `json:"updated_at"`
	ExpiresAt int64      `json:"expires_at"`
	// OrderID is set while the cart is frozen by its checkout: the order
	// it became. A frozen cart cannot change; one whose checkout ended
	// unpaid is unfrozen.
	OrderID string `json:"order_id,omitempty"`
	// Digest is the cart's signed digest (see CartDigester), sent in the
	// HeaderCartDigest header, not in the body; "" when there is none.
	Digest string `json:"-"`
}

// SetQuantity is the body of PUT /v1/carts/{id}/items/{sku}.
type SetQuantity struct {
	Quantity int64 `json:"quantity"`
}

// CheckoutRequest is the body of POST /v1/checkout (Idempotency-Key header
// required).
type CheckoutRequest struct {
	CartID       string `json:"cart_id"`
	PaymentToken string `json:"payment_token"`
	Email        string `json:"email"`
}

// Order statuses.
const (
	OrderPendingPayment = "pending_payment"
	OrderPaid           = "paid"
	OrderPaymentFailed  = "payment_failed"
	OrderExpired        = "expired"
	OrderCancelled      = "cancelled"
)

// Order is the body returned by checkout and the order routes. Token is the
// access token the order routes require; it is returned only to the buyer.
type Order struct {
	ID        string     `json:"id"`
	Token     string     `json:"token,omitempty"`
	Status    string     `json:"status"`
	Email     string     `json:"email"`
	Lines     []CartLine `json:"lines"`
	Totals    Money      `json:"totals"`
	PaymentID string     `json:"payment_id,omitempty"`
	CreatedAt int64      `json:"created_at"`
	ExpiresAt int64      `json:"expires_at,omitempty"` // reservation expiry while pending
	// RefundStatus is set once a refund of the order's charge was decided
	// (a cancelled paid order, a charge that completed after the order
	// ended): pending until the gateway confirms it, then succeeded (or
	// refused, which an operator resolves).
	RefundStatus string `json:"refund_status,omitempty"`
}

// Refund statuses of an order.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundRefused   = "refused"
)

// ShortLine names a cart line that could not be reserved (409 on checkout).
type ShortLine struct {
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// SuggestProduct is one product in a suggest answer.
type SuggestProduct struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	Price      *Money   `json:"price,omitempty"`
	Image      string   `json:"image,omitempty"`
	Highlights [][2]int `json:"highlights"`
}

// SuggestCategory is one category in a suggest answer.
type SuggestCategory struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Suggest is the body of GET /v1/suggest.
type Suggest struct {
	Query      string            `json:"query"`
	Products   []SuggestProduct  `json:"products"`
	Categories []SuggestCategory `json:"categories"`
}
