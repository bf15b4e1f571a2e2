package api

// HeaderCheckoutMax is set by a core on its feed answers (snapshot and
// changes): the longest a checkout or a cancel can take on it, in
// milliseconds (its payment timeout for each gateway one checkout may try,
// one more for a refund, and its store transactions). An edge's timeout
// for those routes must exceed it, or the edge would answer 504 while the
// core is still completing a payment; the edge raises its own when the
// announced value is larger.
const HeaderCheckoutMax = "X-Shopedge-Checkout-Max"
