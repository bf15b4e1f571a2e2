// Package api is the wire contract between shopedge's edge and core tiers and
// its public clients, and nothing else: the JSON shapes of products, stock,
// carts, orders and change-feed events, the error codes and the error
// envelope, and the pure helpers that define them (ids, slugs, surrogate
// keys, card data screening). It holds no client and no I/O: the edge's
// client of the core and its snapshot decoding are edge/coreclient, and
// internal/httpserver depends on this package for the error envelope only.
package api
