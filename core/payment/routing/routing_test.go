package routing

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"shopedge/core/api"
	"shopedge/core/payment"
	"shopedge/internal/config"
)

// threeGateways is a configuration of stripe gateways a, b and c (keys in
// KEY_A…), and rules: EUR cards from DE/AT up to 500,000 go to a or b 3:1
// with c as a fallback; amex goes to c; amounts of 1,000,000 and more go to b.
func threeGateways() Config {
	gw := func(name string) GatewayConfig {
		g := GatewayConfig{Name: name, URL: "http://127.0.0.1:1", KeyEnv: "KEY_" + strings.ToUpper(name)}
		g.SetDefaults()
		return g
	}
	return Config{
		// c first: a payment no rule matches gets c, a, b.
		Gateways: []GatewayConfig{gw("c"), gw("a"), gw("b")},
		Rules: []RuleConfig{
			{Name: "eu", Currencies: []string{"EUR"}, Countries: []string{"DE", "AT"}, MaxAmount: 500000,
				Targets: []TargetConfig{{"a", 3}, {"b", 1}, {"c", 0}}},
			{Name: "amex", Brands: []string{"amex"}, Targets: []TargetConfig{{"c", 1}}},
			{Name: "big", MinAmount: 1000000, Targets: []TargetConfig{{"b", 1}}},
		},
	}
}

var keys = map[string]string{"a": "sk_a", "b": "sk_b", "c": "sk_c"}

func newRouter(t *testing.T, cfg Config) *Router {
	t.Helper()
	r, err := New(cfg, keys, metrics.NewSet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRouteRules: each condition of a rule, first match wins, no match
// gives every gateway in configured order. Seen failing: with the country
// condition, or the max_amount bound, taken out of rule matching.
func TestRouteRules(t *testing.T) {
	r := newRouter(t, threeGateways())
	f := func(token string, amount int64, currency, want string) {
		t.Helper()
		got := strings.Join(r.Route(token, api.Money{Amount: amount, Currency: currency}), ",")
		if want == "a|b" {
			if got != "a,b,c" && got != "b,a,c" {
				t.Fatalf("%s %d %s: %s, want a and b in some order, then c", token, amount, currency, got)
			}
			return
		}
		if got != want {
			t.Fatalf("%s %d %s: %s, want %s", token, amount, currency, got, want)
		}
	}
	f("tok_ok_visa_de", 100, "EUR", "a|b")
	f("tok_ok_mastercard_at", 100, "EUR", "a|b")
	f("tok_ok_visa_de", 500000, "EUR", "a|b")   // bounds inclusive
	f("tok_ok_visa_de", 500001, "EUR", "c,a,b") // above the range
	f("tok_ok_visa_fr", 100, "EUR", "c,a,b")    // no rule: every gateway in order
	f("tok_ok_visa_de", 100, "USD", "c,a,b")    // currency differs
	f("tok_ok_amex_de", 100, "USD", "c")        // brand rule
	f("tok_ok_amex_de", 100, "EUR", "a|b")      // first match wins
	f("tok_ok", 999999, "USD", "c,a,b")         // below the range
	f("tok_ok", 1000000, "USD", "b")            // bounds inclusive
	f("pm_unknown_card", 100, "EUR", "c,a,b")   // card unknown: no brand or country rule matches
	if r.Gateway("b") == nil || r.Gateway("z") != nil {
		t.Fatal("Gateway by name")
	}
}

// TestRouteWeights: over 20,000 payments, a (weight 3) comes first in
// 75 % of them and b (weight 1) in 25 %, within 2 points; every route
// names each target once. Seen failing: with the draw always taking the
// first target. A statistical test: it could fail by chance, with a
// probability far below one in a million (2 points is 6.5 standard
// deviations).
func TestRouteWeights(t *testing.T) {
	r := newRouter(t, threeGateways())
	first := map[string]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		rt := r.Route("tok_ok_visa_de", api.Money{Amount: 100, Currency: "EUR"})
		if len(rt) != 3 || rt[2] != "c" || rt[0] == rt[1] {
			t.Fatalf("route %v", rt)
		}
		first[rt[0]]++
	}
	if share := float64(first["a"]) / n; share < 0.73 || share > 0.77 {
		t.Fatalf("a first in %.3f of payments, want 0.75", share)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	f := func(mod func(*Config), want string) {
		t.Helper()
		c := threeGateways()
		mod(&c)
		err := config.In("payment", c.Validate()) // as the core's configuration places it
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one naming %s", err, want)
		}
		if _, err := New(c, keys, nil, nil); err == nil {
			t.Fatal("New accepted what Validate refuses")
		}
	}
	f(func(c *Config) { c.Gateways = nil }, "payment.gateways")
	f(func(c *Config) { c.Gateways[1].Name = "" }, "payment.gateways[1].name")
	f(func(c *Config) { c.Gateways[1].Name = "Big Bank" }, "payment.gateways[1].name")
	f(func(c *Config) { c.Gateways[2].Name = "a" }, "payment.gateways[2].name: duplicate")
	f(func(c *Config) { c.Gateways[0].Kind = "paypal" }, "payment.gateways[0].kind")
	f(func(c *Config) { c.Gateways[0].URL = "api.stripe.com" }, "payment.gateways[0].url")
	f(func(c *Config) { c.Gateways[0].URL = "https://api.stripe.com/v1" }, "payment.gateways[0].url")
	f(func(c *Config) { c.Gateways[0].KeyEnv = "" }, "payment.gateways[0].key_env")
	f(func(c *Config) { c.Gateways[0].Timeout = 0 }, "payment.gateways[0].timeout")
	f(func(c *Config) { c.Gateways[0].ConnectTimeout = c.Gateways[0].Timeout * 2 }, "payment.gateways[0].connect_timeout")
	f(func(c *Config) { c.Gateways[0].MaxIdleConns = -1 }, "payment.gateways[0].max_idle_conns")
	f(func(c *Config) { c.Rules[0].Targets[1].Gateway = "d" }, `payment.rules[0].targets[1].gateway: no gateway is called "d"`)
	f(func(c *Config) { c.Rules[0].Targets[1].Gateway = "a" }, "payment.rules[0].targets[1].gateway")
	f(func(c *Config) { c.Rules[0].Targets[0].Weight = -1 }, "payment.rules[0].targets[0].weight")
	f(func(c *Config) { c.Rules[0].Currencies[0] = "eur" }, "payment.rules[0].currencies[0]")
	f(func(c *Config) { c.Rules[0].Currencies[0] = "EURO" }, "payment.rules[0].currencies[0]")
	f(func(c *Config) { c.Rules[0].Countries[1] = "AUT" }, "payment.rules[0].countries[1]")
	f(func(c *Config) { c.Rules[1].Brands[0] = "diners club" }, "payment.rules[1].brands[0]")
	f(func(c *Config) { c.Rules[2].MaxAmount = 10 }, "payment.rules[2].min_amount")
	f(func(c *Config) { c.Rules[2].MinAmount = -1 }, "payment.rules[2].min_amount")
	f(func(c *Config) { c.Rules[2].MaxAmount = -1 }, "payment.rules[2].max_amount")
	f(func(c *Config) { c.Rules[1].Targets = nil }, "payment.rules[1].targets")

	env := map[string]string{"KEY_A": "sk_a", "KEY_B": "", "KEY_C": "sk_c"}
	_, err := threeGateways().Keys(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "payment.gateways[2].key_env: KEY_B is not set") {
		t.Fatalf("missing key: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

// TestMetrics: the wrapper counts attempts and outcomes per gateway and
// computes the authorisation rate from them; checked on the Prometheus
// text the core serves. Seen failing: with declines not counted as such.
func TestMetrics(t *testing.T) {
	ms := metrics.NewSet()
	cfg := Config{Gateways: []GatewayConfig{{Name: "mem", Kind: KindInProcess}}}
	r, err := New(cfg, nil, ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := r.Gateway("mem")
	ctx := context.Background()
	usd := api.Money{Amount: 100, Currency: "USD"}
	for i, tok := range []string{"tok_ok", "tok_ok_visa_de", "tok_decline", "tok_error", "tok_lost_reply"} {
		_, _ = g.Charge(ctx, payment.ChargeRequest{Key: "k" + string(rune('a'+i)), Token: tok, Amount: usd})
	}
	_, _ = g.Lookup(ctx, payment.ChargeRequest{Key: "ke", Token: "tok_lost_reply", Amount: usd})
	var b bytes.Buffer
	ms.WritePrometheus(&b)
	text := b.String()
	for _, want := range []string{
		`shopedge_payment_charge_attempts_total{gateway="mem"} 5`,
		`shopedge_payment_charges_total{gateway="mem",outcome="charged"} 2`,
		`shopedge_payment_charges_total{gateway="mem",outcome="declined"} 1`,
		`shopedge_payment_charges_total{gateway="mem",outcome="unknown"} 2`,
		`shopedge_payment_lookups_total{gateway="mem",outcome="charged"} 1`,
		`shopedge_payment_authorization_rate{gateway="mem"} 0.666`,
		`shopedge_payment_duration_seconds_count{gateway="mem",op="charge"} 5`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("metrics lack %q:\n%s", want, text)
		}
	}
}
