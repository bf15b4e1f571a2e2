package theme

import "shopedge/core/api"

// Head describes one page for the shared layout: everything the layout
// writes comes from it, so no page carries per-user data unless a caller
// puts it here (none does).
type Head struct {
	Title       string // the page's own title; " · shopedge" is added
	Description string // meta description ("" leaves it out)
	Canonical   string // canonical path ("" leaves it out)
	Page        string // body class suffix: home, listing, product, cart, checkout, order, error
	Query       string // the search box's value (a search page's own q)
	Private     bool   // a page whose URL holds a secret (an order's token): no referrer, no index
}

// ShopName is the shop's display name.
const ShopName = "shopedge"

// Inline SVG icons (stroke icons drawn for this theme).
const (
	iconSearch = `<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><circle cx="11" cy="11" r="7" fill="none" stroke="currentColor" stroke-width="2"/><path d="M20 20l-4-4" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>`
	iconCart   = `<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M3 4h2l2.4 11.2a2 2 0 0 0 2 1.6h7.7a2 2 0 0 0 2-1.5L21 8H6.2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/><circle cx="10" cy="20.5" r="1.5" fill="currentColor"/><circle cx="18" cy="20.5" r="1.5" fill="currentColor"/></svg>`
)

// AppendHead appends the document head and the site header up to the
// opening of <main>.
func AppendHead(dst []byte, h Head) []byte {
	dst = append(dst, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"...)
	if h.Title != "" {
		dst = AppendText(dst, h.Title)
		dst = append(dst, " · "...)
	}
	dst = append(dst, ShopName+"</title>\n"...)
	if h.Description != "" {
		dst = append(dst, `<meta name="description" content="`...)
		dst = AppendText(dst, h.Description)
		dst = append(dst, "\">\n"...)
	}
	if h.Canonical != "" {
		dst = append(dst, `<link rel="canonical" href="`...)
		dst = AppendText(dst, h.Canonical)
		dst = append(dst, "\">\n"...)
	}
	if h.Private {
		dst = append(dst, "<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex\">\n"...)
	}
	dst = append(dst, `<link rel="stylesheet" href="`...)
	dst = append(dst, CSS.URL...)
	dst = append(dst, "\">\n<script src=\""...)
	dst = append(dst, JS.URL...)
	dst = append(dst, "\" defer></script>\n</head>\n<body class=\"page-"...)
	dst = AppendText(dst, h.Page)
	dst = append(dst, "\">\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header class=\"top\"><div class=\"wrap top-in\">\n<a class=\"logo\" href=\"/\" aria-label=\""+ShopName+" home\"><span class=\"logo-mark\" aria-hidden=\"true\"></span>shop<b>edge</b></a>\n"...)
	dst = AppendSearchForm(dst, h.Query, "search-top")
	dst = append(dst, "<a class=\"cart-link\" href=\"/cart\">"+iconCart+"<span class=\"cart-label\">Cart</span><span class=\"badge\" data-cart-count hidden></span></a>\n</div></header>\n<main id=\"main\" class=\"wrap\">\n"...)
	return dst
}

// AppendSearchForm appends a search form whose box suggests as the
// shopper types (the script drives it through /v1/suggest). id names the
// form; the suggestion list's id is derived from it.
func AppendSearchForm(dst []byte, q, id string) []byte {
	dst = append(dst, `<form class="search `...)
	dst = append(dst, id...)
	dst = append(dst, `" action="/search" method="get" role="search">`+"\n"+`<input type="search" name="q" value="`...)
	dst = AppendText(dst, q)
	dst = append(dst, `" placeholder="Search products and brands" aria-label="Search the shop" autocomplete="off" spellcheck="false" maxlength="200" role="combobox" aria-autocomplete="list" aria-expanded="false" aria-controls="`...)
	dst = append(dst, id...)
	dst = append(dst, `-list" data-suggest>`+"\n"+`<button type="submit" aria-label="Search">`+iconSearch+`</button>`+"\n"+`<ul class="suggest" id="`...)
	dst = append(dst, id...)
	dst = append(dst, "-list\" role=\"listbox\" aria-label=\"Suggestions\" hidden></ul>\n</form>\n"...)
	return dst
}

// AppendFoot appends the end of <main>, the site footer and the end of
// the document.
func AppendFoot(dst []byte) []byte {
	return append(dst, "</main>\n<footer class=\"foot\"><div class=\"wrap foot-in\">\n<p><b>"+ShopName+"</b> · pages served from the edge, cached by your CDN.</p>\n<p><a href=\"/\">Home</a> · <a href=\"/search\">All products</a> · <a href=\"/cart\">Cart</a></p>\n</div></footer>\n</body>\n</html>\n"...)
}

// AvailabilityText is the shopper's label of an availability band, the
// same on product pages and listings.
func AvailabilityText(band string) string {
	switch band {
	case api.InStock:
		return "In stock"
	case api.LowStock:
		return "Only a few left"
	case api.OutOfStock:
		return "Out of stock"
	}
	return "Availability unknown"
}
