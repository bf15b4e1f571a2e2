package storefront

import (
	"shopedge/edge/storefront/theme"
)

// The pages whose content the script fills in: the same bytes for every
// shopper and every cart or order, rendered once at start.
const (
	shellCart = iota
	shellCheckout
	shellOrder
	numShells
)

// tokenLabels describe the testpay simulator's tokens in the checkout
// page's payment select.
var tokenLabels = map[string]string{
	"tok_ok":                   "Test card: approved",
	"tok_decline":              "Test card: declined",
	"tok_insufficient_funds":   "Test card: insufficient funds",
	"tok_slow":                 "Test card: approved after 2 s",
	"tok_error":                "Test card: gateway error, nothing charged",
	"tok_lost_reply":           "Test card: charged, reply lost",
	"tok_timeout_after_charge": "Test card: charged, reply too late",
	"tok_error_after_charge":   "Test card: charged, then an error",
}

func (s *Storefront) renderShells() {
	keys := []string{keyStorefront}
	s.shells[shellCart] = newRendered(cartPage(), keys, s.cfg.GzipLevel)
	s.shells[shellCheckout] = newRendered(checkoutPage(s.cfg.PaymentTokens), keys, s.cfg.GzipLevel)
	s.shells[shellOrder] = newRendered(orderPage(), keys, s.cfg.GzipLevel)
}

const noscript = "<noscript><p class=\"msg bad\">This page needs JavaScript to show your cart and orders.</p><style>.loading{display:none}</style></noscript>\n"

func cartPage() []byte {
	b := theme.AppendHead(nil, theme.Head{Title: "Your cart", Page: "cart", Canonical: "/cart"})
	b = appendCrumbs(b, nil, "Cart")
	b = append(b, "<h1>Your cart</h1>\n"+noscript+"<div data-cart-page><p class=\"loading\">Loading your cart…</p></div>\n"...)
	return theme.AppendFoot(b)
}

func checkoutPage(tokens []string) []byte {
	b := theme.AppendHead(nil, theme.Head{Title: "Checkout", Page: "checkout", Canonical: "/checkout"})
	b = appendCrumbs(b, []crumb{{"Cart", "/cart"}}, "Checkout")
	b = append(b, "<h1>Checkout</h1>\n"+noscript+`<div class="two" data-checkout-page>
<section class="panel"><form data-checkout>
<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" required maxlength="254" autocomplete="email" placeholder="you@example.com"><p class="hint">Your receipt goes here.</p></div>
<div class="field"><label for="payment_token">Payment</label>`...)
	if len(tokens) == 0 {
		b = append(b, `<input id="payment_token" name="payment_token" required maxlength="128" autocomplete="off" placeholder="Payment token"><p class="hint">The payment provider's card form gives this token; card numbers never reach the shop.</p>`...)
	} else {
		b = append(b, `<select id="payment_token" name="payment_token" required>`...)
		for _, t := range tokens {
			b = append(b, `<option value="`...)
			b = text(b, t)
			b = append(b, `">`...)
			if l, ok := tokenLabels[t]; ok {
				b = text(b, l)
				b = append(b, " ("...)
				b = text(b, t)
				b = append(b, ')')
			} else {
				b = text(b, t)
			}
			b = append(b, "</option>"...)
		}
		b = append(b, `</select><p class="hint">Demo payments: each test token gives one outcome. A real shop shows its payment provider's card form here; card numbers never reach the shop.</p>`...)
	}
	b = append(b, `</div>
<button class="btn btn-primary btn-lg btn-block" type="submit" disabled>Place order</button>
<p class="msg" data-checkout-msg role="status" aria-live="polite" hidden></p>
</form></section>
<aside class="panel"><h2>Order summary</h2><div data-checkout-summary><p class="loading">Loading…</p></div></aside>
</div>
`...)
	return theme.AppendFoot(b)
}

func orderPage() []byte {
	b := theme.AppendHead(nil, theme.Head{Title: "Your order", Page: "order", Private: true})
	b = append(b, noscript+"<div data-order-page><p class=\"loading\">Loading your order…</p></div>\n"...)
	return theme.AppendFoot(b)
}

// messagePage is an error or notice page: a heading, a sentence and a way
// back.
func messagePage(title, msg string) []byte {
	b := theme.AppendHead(nil, theme.Head{Title: title, Page: "error"})
	b = append(b, "<div class=\"empty\"><h1>"...)
	b = text(b, title)
	b = append(b, "</h1><p>"...)
	b = text(b, msg)
	b = append(b, "</p><p><a class=\"btn btn-primary\" href=\"/\">Back to the shop</a></p></div>\n"...)
	return theme.AppendFoot(b)
}
