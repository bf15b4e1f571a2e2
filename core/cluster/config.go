package cluster

import (
	"net"
	"shopedge/internal/config"
	"time"
)

// Config configures a core's membership and the routing of hot SKUs'
// checkouts.
type Config struct {
	// AdvertiseAddr is the host:port other cores reach this core's HTTP
	// server at. Empty: the server's listening address, or, when that is
	// a wildcard (0.0.0.0, [::]), the machine's host name with its port.
	AdvertiseAddr string `yaml:"advertise_addr" help:"host:port other cores reach this core at (empty: the listening address)"`
	// Heartbeat is how often a core renews its membership record and
	// reads the others'.
	Heartbeat time.Duration `yaml:"heartbeat" help:"how often a core renews its membership and reads the others'"`
	// MemberLease is how long a membership record stays live without a
	// renewal: a core that died is dropped (and its hot SKUs move to
	// others) this long after its last heartbeat.
	MemberLease time.Duration `yaml:"member_lease" help:"a core without a heartbeat for this long is dropped"`
	// HotRate is the checkouts per second of one SKU, arriving at one
	// core, from which the SKU is hot there: its checkouts go to the core
	// that owns it. 0 turns routing off. Below this rate of checkouts in
	// all, a core does not look at the carts.
	HotRate int `yaml:"hot_rate" help:"checkouts/s of one SKU at one core that make it hot (0: by rate never)"`
	// HotConcurrency is the checkouts of one SKU in flight at once at one
	// core from which the SKU is hot there. It catches the SKU whose
	// rate contention has already cut (every core's transactions queued
	// on its stock record). 0: by concurrency never. With HotRate 0 too,
	// nothing is routed.
	HotConcurrency int `yaml:"hot_concurrency" help:"checkouts of one SKU in flight at one core that make it hot (0: by concurrency never)"`
}

// DefaultConfig returns the defaults: a heartbeat every second, a member
// dropped after 3 s, SKUs hot from 20 checkouts/s or 4 in flight at one
// core.
func DefaultConfig() Config {
	return Config{Heartbeat: time.Second, MemberLease: 3 * time.Second, HotRate: 20, HotConcurrency: 4}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Heartbeat < 10*time.Millisecond || c.Heartbeat > time.Minute:
		return config.Invalid("heartbeat", "must be within [10ms, 1m], got %s", c.Heartbeat)
	case c.MemberLease < 2*c.Heartbeat:
		return config.Invalid("member_lease", "must be at least twice cluster.heartbeat (%s), got %s", c.Heartbeat, c.MemberLease)
	case c.HotRate < 0:
		return config.Invalid("hot_rate", "must not be negative, got %d", c.HotRate)
	case c.HotConcurrency < 0:
		return config.Invalid("hot_concurrency", "must not be negative, got %d", c.HotConcurrency)
	}
	if c.AdvertiseAddr != "" {
		host, port, err := net.SplitHostPort(c.AdvertiseAddr)
		if err != nil || host == "" || port == "" || port == "0" {
			return config.Invalid("advertise_addr", "want host:port, got %q", c.AdvertiseAddr)
		}
	}
	return nil
}
