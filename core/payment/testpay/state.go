package testpay

import (
	"fmt"
	"time"
)

// state is the simulator's memory: everything the ledger holds, indexed.
// It is guarded by the Server's mutex.
type state struct {
	pis     map[string]*PaymentIntent
	order   []string // PaymentIntent ids, oldest first
	refunds map[string]*Refund
	idem    map[string]*idemEntry
	meta    map[string][]string // metadata key "\x00" value → PaymentIntent ids, oldest first
	seq     int64               // last record applied
	keyTTL  time.Duration
}

func newState(keyTTL time.Duration) *state {
	return &state{
		pis: map[string]*PaymentIntent{}, refunds: map[string]*Refund{},
		idem: map[string]*idemEntry{}, meta: map[string][]string{}, keyTTL: keyTTL,
	}
}

// apply applies one record (a new one, or one replayed from the ledger).
func (s *state) apply(rec *record) error {
	if rec.PI != nil {
		pi := rec.PI
		if pi.ID == "" {
			return fmt.Errorf("record %d: payment intent without an id", rec.Seq)
		}
		if _, ok := s.pis[pi.ID]; !ok {
			s.order = append(s.order, pi.ID)
			for k, v := range pi.Metadata {
				s.meta[k+"\x00"+v] = append(s.meta[k+"\x00"+v], pi.ID)
			}
		}
		s.pis[pi.ID] = pi
		for _, r := range pi.Refunds.Data {
			s.refunds[r.ID] = r
		}
	}
	if rec.Refund != nil {
		s.refunds[rec.Refund.ID] = rec.Refund
	}
	if e := rec.Idem; e != nil && time.Since(time.Unix(0, e.At)) < s.keyTTL {
		s.idem[e.Key] = e
	}
	s.seq = rec.Seq
	return nil
}

// idemGet returns the unexpired stored answer under key, or nil.
func (s *state) idemGet(key string, now time.Time) *idemEntry {
	e := s.idem[key]
	if e == nil {
		return nil
	}
	if now.Sub(time.Unix(0, e.At)) >= s.keyTTL {
		delete(s.idem, key)
		return nil
	}
	return e
}

// expireKeys forgets stored answers older than the key TTL.
func (s *state) expireKeys(now time.Time) int {
	n := 0
	for k, e := range s.idem {
		if now.Sub(time.Unix(0, e.At)) >= s.keyTTL {
			delete(s.idem, k)
			n++
		}
	}
	return n
}
