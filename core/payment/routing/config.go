// Package routing builds shopedge's payment router from configuration:
// the gateways (each a Stripe account, or testpay speaking Stripe's API),
// the rules that pick them per payment, and per-gateway metrics.
package routing

import (
	"fmt"
	"net/url"
	"time"

	"shopedge/internal/config"
)

// Gateway kinds.
const (
	// KindStripe is a Stripe account (or testpay) reached over HTTP with
	// the Stripe adapter.
	KindStripe = "stripe"
	// KindInProcess is testpay's in-memory gateway inside the core, for the
	// benchmark that measures what the process boundary costs, and nothing
	// else: its charges and idempotency keys die with the process.
	KindInProcess = "inprocess"
)

// Config is the core's payment section.
type Config struct {
	// Gateways are the provider accounts, each with a unique name. When no
	// rule matches a payment, all of them are tried in this order.
	Gateways []GatewayConfig `yaml:"gateways"`
	// Rules pick the gateways of a payment: the first rule that matches
	// gives them, ordered by a weighted draw.
	Rules []RuleConfig `yaml:"rules"`
}

// GatewayConfig is one provider account.
type GatewayConfig struct {
	// Name identifies the gateway in rules, orders and metrics: 1–32 of
	// a-z, 0-9, '-' and '_'. An order keeps the name of the gateway it
	// was charged through, so rename a gateway only once no order needs it.
	Name string `yaml:"name"`
	// Kind is "stripe" (default) or "inprocess" (benchmarks only).
	Kind string `yaml:"kind"`
	// URL is the API base: https://api.stripe.com, or testpay's address.
	URL string `yaml:"url"`
	// KeyEnv names the environment variable that holds the secret key. The
	// key itself never appears in a configuration file.
	KeyEnv string `yaml:"key_env"`
	// Timeout bounds one request to the gateway.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds connecting; a connection that fails is a
	// request provably not sent.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxIdleConns bounds the keep-alive connections kept to the gateway.
	MaxIdleConns int `yaml:"max_idle_conns"`
}

// SetDefaults sets the defaults of a gateway listed in the configuration.
func (g *GatewayConfig) SetDefaults() {
	g.Kind = KindStripe
	g.Timeout = 10 * time.Second
	g.ConnectTimeout = 2 * time.Second
	g.MaxIdleConns = 64
}

// RuleConfig matches payments; every condition left empty matches all.
type RuleConfig struct {
	// Name labels the rule in errors and logs (optional).
	Name string `yaml:"name"`
	// Currencies are ISO 4217 codes, upper case (e.g. [EUR, GBP]).
	Currencies []string `yaml:"currencies"`
	// MinAmount and MaxAmount bound the amount in minor units, both
	// inclusive; MaxAmount 0 means no upper bound.
	MinAmount int64 `yaml:"min_amount"`
	MaxAmount int64 `yaml:"max_amount"`
	// Brands are card brands: visa, mastercard, amex, discover, jcb,
	// unionpay, diners.
	Brands []string `yaml:"brands"`
	// Countries are the card's issuing countries, ISO 3166-1 alpha-2,
	// upper case.
	Countries []string `yaml:"countries"`
	// Targets are the gateways of a matching payment with their weights.
	Targets []TargetConfig `yaml:"targets"`
}

// TargetConfig is one gateway of a rule.
type TargetConfig struct {
	// Gateway is a configured gateway's name.
	Gateway string `yaml:"gateway"`
	// Weight is the share of payments that try this gateway first, against
	// the rule's other targets. 0 makes it a fallback only, tried after
	// the weighted ones in listed order.
	Weight int `yaml:"weight"`
}

// DefaultConfig returns one gateway: testpay on 127.0.0.1:9191 with the
// key in TESTPAY_SECRET_KEY, and no rules.
func DefaultConfig() Config {
	g := GatewayConfig{Name: "testpay", URL: "http://127.0.0.1:9191", KeyEnv: "TESTPAY_SECRET_KEY"}
	g.SetDefaults()
	return Config{Gateways: []GatewayConfig{g}, Rules: []RuleConfig{}}
}

// brands are the card brands rules may name.
var brands = map[string]bool{"visa": true, "mastercard": true, "amex": true, "discover": true, "jcb": true, "unionpay": true, "diners": true}

// Validate reports the first invalid setting by its path.
func (c Config) Validate() error {
	if len(c.Gateways) == 0 {
		return config.Invalid("gateways", "at least one gateway is required")
	}
	names := map[string]bool{}
	for i, g := range c.Gateways {
		p := fmt.Sprintf("gateways[%d]", i)
		if err := g.validate(p); err != nil {
			return err
		}
		if names[g.Name] {
			return config.Invalid(p+".name", "duplicate gateway name %q", g.Name)
		}
		names[g.Name] = true
	}
	for i, r := range c.Rules {
		if err := r.validate(fmt.Sprintf("rules[%d]", i), names); err != nil {
			return err
		}
	}
	return nil
}

func (g GatewayConfig) validate(p string) error {
	if !validName(g.Name) {
		return config.Invalid(p+".name", "want 1-32 of a-z, 0-9, '-', '_', got %q", g.Name)
	}
	switch g.Kind {
	case KindInProcess:
		return nil
	case KindStripe:
	default:
		return config.Invalid(p+".kind", "unknown kind %q (want stripe or inprocess)", g.Kind)
	}
	u, err := url.Parse(g.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/"):
		return config.Invalid(p+".url", "want http(s)://host[:port], got %q", g.URL)
	case g.KeyEnv == "":
		return config.Invalid(p+".key_env", "required: the environment variable holding the secret key")
	case g.Timeout <= 0 || g.Timeout > 10*time.Minute:
		return config.Invalid(p+".timeout", "must be within (0, 10m], got %s", g.Timeout)
	case g.ConnectTimeout <= 0 || g.ConnectTimeout > g.Timeout:
		return config.Invalid(p+".connect_timeout", "must be within (0, timeout], got %s", g.ConnectTimeout)
	case g.MaxIdleConns < 0:
		return config.Invalid(p+".max_idle_conns", "must not be negative, got %d", g.MaxIdleConns)
	}
	return nil
}

func (r RuleConfig) validate(p string, gateways map[string]bool) error {
	for j, c := range r.Currencies {
		if !upper(c, 3) {
			return config.Invalid(fmt.Sprintf("%s.currencies[%d]", p, j), "want an ISO 4217 code in upper case, got %q", c)
		}
	}
	for j, b := range r.Brands {
		if !brands[b] {
			return config.Invalid(fmt.Sprintf("%s.brands[%d]", p, j), "unknown card brand %q (want visa, mastercard, amex, discover, jcb, unionpay or diners)", b)
		}
	}
	for j, c := range r.Countries {
		if !upper(c, 2) {
			return config.Invalid(fmt.Sprintf("%s.countries[%d]", p, j), "want an ISO 3166-1 alpha-2 code in upper case, got %q", c)
		}
	}
	switch {
	case r.MinAmount < 0:
		return config.Invalid(p+".min_amount", "must not be negative, got %d", r.MinAmount)
	case r.MaxAmount < 0:
		return config.Invalid(p+".max_amount", "must not be negative (0 = no limit), got %d", r.MaxAmount)
	case r.MaxAmount != 0 && r.MinAmount > r.MaxAmount:
		return config.Invalid(p+".min_amount", "%d is above max_amount %d", r.MinAmount, r.MaxAmount)
	case len(r.Targets) == 0:
		return config.Invalid(p+".targets", "at least one gateway is required")
	}
	seen := map[string]bool{}
	for j, t := range r.Targets {
		tp := fmt.Sprintf("%s.targets[%d]", p, j)
		switch {
		case !gateways[t.Gateway]:
			return config.Invalid(tp+".gateway", "no gateway is called %q", t.Gateway)
		case seen[t.Gateway]:
			return config.Invalid(tp+".gateway", "%q is listed twice in the rule", t.Gateway)
		case t.Weight < 0:
			return config.Invalid(tp+".weight", "must not be negative, got %d", t.Weight)
		case t.Weight > 1000000:
			return config.Invalid(tp+".weight", "must be at most 1000000, got %d", t.Weight)
		}
		seen[t.Gateway] = true
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func upper(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Keys reads each stripe gateway's secret key from the environment
// variable it names (lookup is os.LookupEnv in the core). A variable that
// is unset or empty is an error naming the setting.
func (c Config) Keys(lookup func(string) (string, bool)) (map[string]string, error) {
	keys := map[string]string{}
	for i, g := range c.Gateways {
		if g.Kind != KindStripe {
			continue
		}
		k, ok := lookup(g.KeyEnv)
		if !ok || k == "" {
			return nil, fmt.Errorf("payment.gateways[%d].key_env: %s is not set: it must hold gateway %s's secret key", i, g.KeyEnv, g.Name)
		}
		keys[g.Name] = k
	}
	return keys, nil
}
