// Package api is the wire contract between shopedge's edge and core tiers and
// its public clients: the JSON shapes of products, stock, carts, orders and
// change-feed events, the error body, and a small fasthttp client the edge
// uses to talk to the core. It imports nothing of the core's internals, so
// the edge can depend on it alone.
package api
