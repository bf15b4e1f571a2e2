package api

// ContainsCardNumber reports whether b holds something that looks like a
// payment card number: a maximal run of 13–19 digits, optionally with a
// single space or dash between digits, whose Luhn checksum is valid.
//
// A run ends at any other byte, at two separators in a row, and a run of more
// than 19 digits is not a card number (long numeric ids are not flagged).
// Shopedge never accepts card data: the core's public routes and the edge's
// forwarder reject requests that contain it (400 card_data_rejected) and
// never log it. ContainsCardNumber does not allocate and reads b once.
func ContainsCardNumber(b []byte) bool {
	var (
		n      int  // digits in the current run
		s0, s1 int  // Luhn sums doubling odd / even indexes from the run's start
		sep    bool // the previous byte was a separator inside the run
	)
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			d := int(c - '0')
			dd := d * 2
			if dd > 9 {
				dd -= 9
			}
			if n&1 == 0 {
				s0 += d
				s1 += dd
			} else {
				s0 += dd
				s1 += d
			}
			n++
			sep = false
			continue
		case (c == ' ' || c == '-') && n > 0 && !sep:
			sep = true
			continue
		}
		if luhnRun(n, s0, s1) {
			return true
		}
		n, s0, s1, sep = 0, 0, 0, false
	}
	return luhnRun(n, s0, s1)
}

// luhnRun reports whether a run of n digits with sums s0, s1 (see
// ContainsCardNumber) is a Luhn-valid 13–19 digit number. The rightmost
// digit is never doubled, so the doubled indexes are those of the other
// parity than n-1.
func luhnRun(n, s0, s1 int) bool {
	if n < 13 || n > 19 {
		return false
	}
	if n&1 == 1 {
		return s0%10 == 0
	}
	return s1%10 == 0
}
