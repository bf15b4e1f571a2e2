package routing

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/core/payment/stripegw"
	"shopedge/core/payment/testpay"
)

// CardFunc returns the brand and issuing country of a payment token's
// card; ok is false when it cannot tell (then rules naming brands or
// countries do not match).
type CardFunc func(token string) (brand, country string, ok bool)

// TokenCard reads the card from the token's name, as testpay's tokens
// carry it (tok_ok_visa_de). A real deployment learns brand and country
// from the provider: the buyer's client gets them with the token
// (Stripe.js returns the PaymentMethod with card.brand and card.country),
// or the core reads GET /v1/payment_methods/{token} before routing.
func TokenCard(token string) (string, string, bool) {
	c, ok := testpay.CardOf(token)
	return c.Brand, c.Country, ok
}

// Router is the payment.Router of a configuration. It is safe for
// concurrent use.
type Router struct {
	rules    []rule
	all      []string // every gateway, in configured order
	gateways map[string]payment.Gateway
	card     CardFunc
	closers  []func()
}

var _ payment.Router = (*Router)(nil)

type rule struct {
	RuleConfig
	currencies, brands, countries map[string]bool
	weighted                      []TargetConfig // weight > 0
	fallbacks                     []string       // weight 0, in listed order
	total                         int
}

// New builds the gateways of cfg (stripe ones with keys[name]), wraps each
// in per-gateway metrics registered on ms, and returns the router. card
// nil means TokenCard.
func New(cfg Config, keys map[string]string, ms *metrics.Set, card CardFunc) (*Router, error) {
	return NewWithGateways(cfg, keys, ms, card, nil)
}

// NewWithGateways is New where each configured gateway named in given is
// that gateway (instrumented like the others) instead of one built from its
// configuration: tests run several cores against one in-process gateway,
// as several processes share one provider account.
func NewWithGateways(cfg Config, keys map[string]string, ms *metrics.Set, card CardFunc, given map[string]payment.Gateway) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if card == nil {
		card = TokenCard
	}
	if ms == nil {
		ms = metrics.NewSet()
	}
	r := &Router{gateways: map[string]payment.Gateway{}, card: card}
	for i, gc := range cfg.Gateways {
		var g payment.Gateway
		switch gw, ok := given[gc.Name]; {
		case ok:
			g = gw
		case gc.Kind == KindInProcess:
			tp, err := testpay.New(testpay.DefaultConfig())
			if err != nil {
				return nil, fmt.Errorf("payment.gateways[%d]: %w", i, err)
			}
			g = tp
		default:
			sg, err := stripegw.New(stripegw.Config{
				URL: gc.URL, SecretKey: keys[gc.Name], Timeout: gc.Timeout,
				ConnectTimeout: gc.ConnectTimeout, MaxIdleConns: gc.MaxIdleConns,
			})
			if err != nil {
				return nil, fmt.Errorf("payment.gateways[%d] (%s): %w", i, gc.Name, err)
			}
			r.closers = append(r.closers, sg.Close)
			g = sg
		}
		r.gateways[gc.Name] = Instrument(gc.Name, g, ms)
		r.all = append(r.all, gc.Name)
	}
	for _, rc := range cfg.Rules {
		ru := rule{RuleConfig: rc, currencies: set(rc.Currencies), brands: set(rc.Brands), countries: set(rc.Countries)}
		for _, t := range rc.Targets {
			if t.Weight > 0 {
				ru.weighted = append(ru.weighted, t)
				ru.total += t.Weight
			} else {
				ru.fallbacks = append(ru.fallbacks, t.Gateway)
			}
		}
		r.rules = append(r.rules, ru)
	}
	return r, nil
}

func set(xs []string) map[string]bool {
	if len(xs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Close releases the gateways' idle connections.
func (r *Router) Close() {
	for _, c := range r.closers {
		c()
	}
}

// Gateway implements payment.Router.
func (r *Router) Gateway(name string) payment.Gateway { return r.gateways[name] }

// Route implements payment.Router: the targets of the first matching rule,
// the weighted ones in a weighted random order, then the fallbacks; every
// gateway in configured order when no rule matches. The slice is the
// caller's.
func (r *Router) Route(token string, amount api.Money) []string {
	if len(r.rules) == 0 {
		return slices.Clone(r.all)
	}
	brand, country, known := r.card(token)
	for i := range r.rules {
		ru := &r.rules[i]
		if ru.matches(amount, brand, country, known) {
			return ru.order()
		}
	}
	return slices.Clone(r.all)
}

func (ru *rule) matches(amount api.Money, brand, country string, known bool) bool {
	switch {
	case ru.currencies != nil && !ru.currencies[amount.Currency]:
		return false
	case amount.Amount < ru.MinAmount, ru.MaxAmount != 0 && amount.Amount > ru.MaxAmount:
		return false
	case ru.brands != nil && (!known || !ru.brands[brand]):
		return false
	case ru.countries != nil && (!known || !ru.countries[country]):
		return false
	}
	return true
}

// order draws the weighted targets without replacement, each draw in
// proportion to the weights left, then appends the fallbacks.
func (ru *rule) order() []string {
	out := make([]string, 0, len(ru.weighted)+len(ru.fallbacks))
	if len(ru.weighted) == 1 {
		out = append(out, ru.weighted[0].Gateway)
	} else if len(ru.weighted) > 1 {
		left := slices.Clone(ru.weighted)
		total := ru.total
		for len(left) > 0 {
			n := rand.IntN(total)
			j := 0
			for ; n >= left[j].Weight; j++ {
				n -= left[j].Weight
			}
			out = append(out, left[j].Gateway)
			total -= left[j].Weight
			left = slices.Delete(left, j, j+1)
		}
	}
	return append(out, ru.fallbacks...)
}
