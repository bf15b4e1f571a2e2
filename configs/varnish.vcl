vcl 4.1;
# shopedge in front of Varnish 7.1 with the xkey vmod (Debian: varnish and
# varnish-modules). This file is what to copy into your own Varnish: edit the
# two GENERATED blocks (your edges, the addresses allowed to purge) and load
# it. `make cluster` (scripts/cluster.sh, through scripts/varnish-vcl.sh)
# writes a copy with both blocks filled in for its loopback cluster.
#
# What it does, in the order a request meets it:
#
#  1. Purges (vcl_recv). The core sends, to every URL in api.cdn.purge_urls:
#       PURGE /  with  xkey: product-42 brand-acme      purge by surrogate key
#       PURGE /  with  X-Shopedge-Purge-All: 1          purge everything
#     Both are accepted only from the shopedge_purgers ACL and answer 200
#     (the core counts a 2xx as done and retries anything else); any other
#     client gets 405. A keyed purge is a hard purge (xkey.purge): the old
#     page is not kept for grace, the next request fetches the new one.
#     Purge-all bans every object.
#  2. Never cached (return (pass)): every method but GET and HEAD (carts,
#     checkout writes), the cart, checkout and order routes (per-user),
#     /admin, /internal, /debug and the health and metrics routes.
#  3. The cache key (vcl_hash) is what the edge keys on and nothing else:
#     the path, and for routes that read the query its normalised form.
#     Host, X-Forwarded-*, cookies and Authorization never enter it, and the
#     headers an edge ignores are dropped before the fetch.
#  4. Lifetimes come from the edge's Cache-Control: s-maxage is the TTL,
#     stale-while-revalidate the time a stale page is served while Varnish
#     refreshes it in the background, stale-if-error the time it is served
#     when no edge can answer (the object's grace is the longer of the two;
#     see vcl_hit). Only 200 answers are stored: errors, and answers that
#     set cookies or say private/no-store, never are.
#  5. Compression: Varnish asks the edges for gzip (http_gzip_support, on
#     by default), stores one gzip copy and unzips it for clients that do
#     not accept gzip, so the edge's "Vary: Accept-Encoding" is handled
#     here and put back on every answer.

import std;
import directors;
import xkey;

# --- BEGIN GENERATED: backends (one per edge) ---
# Each edge is probed on /readyz: an edge still loading its snapshot, or
# gone, gets no traffic, and when none is healthy stale pages are served
# for up to their stale-if-error time.
backend edge1 {
    .host = "127.0.0.1";
    .port = "8081";
    .connect_timeout = 1s;
    .first_byte_timeout = 5s;
    .between_bytes_timeout = 5s;
    .probe = { .url = "/readyz"; .interval = 1s; .timeout = 500ms; .window = 3; .threshold = 2; .initial = 2; }
}
backend edge2 {
    .host = "127.0.0.1";
    .port = "8082";
    .connect_timeout = 1s;
    .first_byte_timeout = 5s;
    .between_bytes_timeout = 5s;
    .probe = { .url = "/readyz"; .interval = 1s; .timeout = 500ms; .window = 3; .threshold = 2; .initial = 2; }
}

# Requests go round-robin to the healthy edges.
sub vcl_init {
    new edges = directors.round_robin();
    edges.add_backend(edge1);
    edges.add_backend(edge2);
}
# --- END GENERATED: backends ---

# --- BEGIN GENERATED: purgers (the core's purge source addresses) ---
# The address(es) the core's purges come from: the core's host, or the
# address it binds for purges (api.cdn.source_addr).
acl shopedge_purgers {
    "127.0.0.1";
}
# --- END GENERATED: purgers ---

sub vcl_recv {
    # A client never sets these; they carry state between restarts.
    if (req.restarts == 0) {
        unset req.http.X-Shopedge-Refetch;
        unset req.http.X-Shopedge-Stale-If-Error;
    }

    if (req.method == "PURGE") {
        call shopedge_purge;
    }

    set req.backend_hint = edges.backend();

    # Writes, and whatever is per-user or operational, go straight to an
    # edge and are never stored.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/(admin|internal|debug)(/|\?|$)" ||
        req.url ~ "^/(metrics|healthz|readyz)(\?|$)" ||
        req.url ~ "^/(v1/)?(carts?|checkout|orders)(/|\?|$)") {
        return (pass);
    }

    call shopedge_normalise;

    # Nothing cached depends on cookies, credentials or forwarding headers:
    # drop them so they can neither split nor poison the cache.
    unset req.http.Cookie;
    unset req.http.Authorization;
    unset req.http.X-Forwarded-Host;
    unset req.http.X-Forwarded-Proto;
    unset req.http.X-Forwarded-Port;
    unset req.http.X-Original-URL;
    unset req.http.X-Rewrite-URL;
    unset req.http.Forwarded;

    # vcl_hit found only a copy older than its stale-while-revalidate while
    # an edge is up: fetch a fresh one in the foreground. (A restart keeps
    # hash_always_miss, so it is set either way.)
    if (req.http.X-Shopedge-Refetch) {
        set req.hash_always_miss = true;
    } else {
        set req.hash_always_miss = false;
    }
    return (hash);
}

# shopedge_purge answers a PURGE (see 1. above). It always returns.
sub shopedge_purge {
    if (client.ip !~ shopedge_purgers) {
        return (synth(405, "Purge not allowed from this address"));
    }
    if (req.http.X-Shopedge-Purge-All == "1") {
        # Every object cached before now, whatever its key.
        if (std.ban("obj.status != 0")) {
            return (synth(200, "Banned all"));
        }
        return (synth(500, "Ban failed: " + std.ban_error()));
    }
    if (req.http.xkey) {
        set req.http.X-Shopedge-Purged = xkey.purge(req.http.xkey);
        return (synth(200, "Purged " + req.http.X-Shopedge-Purged));
    }
    return (synth(400, "PURGE needs an xkey or X-Shopedge-Purge-All header"));
}

# shopedge_normalise rewrites req.url to what the edge keys on.
sub shopedge_normalise {
    set req.url = regsub(req.url, "#.*$", "");
    if (req.url ~ "^/(v1/)?products/") {
        # A product is answered by its path alone; the query is ignored.
        set req.url = regsub(req.url, "\?.*$", "");
    } elsif (req.url ~ "^/v1/suggest(\?|$)") {
        # Only q and limit shape an answer: drop every other parameter.
        set req.url = regsuball(req.url, "(?<=[?&])(?!(?:q|limit)=)[^&]*(?:&|$)", "");
    } else {
        # Tracking parameters never change a page.
        set req.url = regsuball(req.url, "(?<=[?&])(?:utm_[a-z_]+|gclid|fbclid|msclkid)=[^&]*(?:&|$)", "");
    }
    set req.url = std.querysort(req.url);
    set req.url = regsub(req.url, "[?&]+$", "");
}

sub vcl_hash {
    # The URL as normalised above, and nothing else: no Host, no
    # X-Forwarded-*, no cookie.
    hash_data(req.url);
    return (lookup);
}

sub vcl_hit {
    if (obj.ttl >= 0s) {
        return (deliver);
    }
    # Stale. Within stale-while-revalidate: serve it, Varnish refreshes it
    # in the background.
    if (obj.ttl + std.duration(obj.http.X-Shopedge-SWR, 0s) > 0s) {
        return (deliver);
    }
    # Older, within stale-if-error: only while no edge can give a fresh
    # copy (all edges sick, or a fetch just failed: see vcl_synth).
    if (req.http.X-Shopedge-Stale-If-Error || !std.healthy(req.backend_hint)) {
        set req.http.X-Shopedge-Stale-If-Error = "1";
        return (deliver);
    }
    # An edge is up: fetch in the foreground, keeping this copy in case
    # the fetch fails.
    set req.http.X-Shopedge-Refetch = "1";
    return (restart);
}

sub vcl_backend_fetch {
    unset bereq.http.X-Shopedge-Refetch;
    unset bereq.http.X-Shopedge-Stale-If-Error;
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 500) {
        # Try the next edge once, then give up on this fetch: a stale copy,
        # if any, is kept and served (vcl_synth restarts for it).
        if (bereq.retries < 1) {
            return (retry);
        }
        return (abandon);
    }
    if (beresp.status != 200 || beresp.http.Set-Cookie ||
        beresp.http.Cache-Control ~ "(?i)(private|no-store|no-cache)" ||
        beresp.http.Cache-Control !~ "(?i)(public|s-maxage)") {
        # Errors (a 404 included) and private answers are never stored; a
        # short hit-for-miss keeps requests for them from queueing.
        set beresp.ttl = 1s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }

    # TTL: Varnish has set it from s-maxage (else max-age), and the grace
    # from stale-while-revalidate. Keep that window on the object for
    # vcl_hit, then make the grace the longer of it and stale-if-error.
    set beresp.http.X-Shopedge-SWR = beresp.grace + "s";
    if (beresp.http.Cache-Control ~ "(?i)stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(
            regsub(beresp.http.Cache-Control, "(?i)^.*stale-if-error=([0-9]+).*$", "\1s"), beresp.grace);
        if (beresp.grace < std.duration(beresp.http.X-Shopedge-SWR, 0s)) {
            set beresp.grace = std.duration(beresp.http.X-Shopedge-SWR, 0s);
        }
    }
    # An edge that lost the core's change feed marks its pages stale; keep
    # them briefly so fresh ones come back soon after the feed does.
    if (beresp.http.X-Shopedge-Stale && beresp.ttl > 5s) {
        set beresp.ttl = 5s;
    }

    # xkey indexes the object by its "xkey" header: copy the edge's
    # Surrogate-Key there (space-separated keys, as xkey reads them).
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
    # One gzip copy serves every client (see 5. above); vcl_deliver puts
    # the Vary back for browsers and caches further down.
    if (beresp.http.Vary ~ "^(?i)accept-encoding$") {
        unset beresp.http.Vary;
        set beresp.http.X-Shopedge-Vary = "Accept-Encoding";
    }
    return (deliver);
}

sub vcl_backend_error {
    if (bereq.method == "GET" || bereq.method == "HEAD") {
        # No edge answered (refused, timed out): try another once, then
        # give up on a cacheable fetch so a stale copy, if any, is served.
        # A write is never retried here: it may have reached the edge.
        if (bereq.retries < 1) {
            return (retry);
        }
        if (!bereq.uncacheable) {
            return (abandon);
        }
    }
    set beresp.http.Content-Type = "application/json";
    set beresp.http.Cache-Control = "no-store";
    set beresp.http.Retry-After = "5";
    # (A long string ends at the first quote-brace, hence the split.)
    set beresp.body = {"{"error":{"code":"unavailable","message":"no edge answered""} + "}}";
    return (deliver);
}

sub vcl_synth {
    # A fetch failed: look again, now accepting a copy within its
    # stale-if-error time (vcl_hit).
    if (resp.status == 503 && (req.method == "GET" || req.method == "HEAD") &&
        !req.http.X-Shopedge-Stale-If-Error && req.restarts < 3) {
        unset req.http.X-Shopedge-Refetch;
        set req.http.X-Shopedge-Stale-If-Error = "1";
        return (restart);
    }
    # Errors made here speak shopedge's error shape.
    if (resp.status >= 400) {
        if (resp.status == 400) {
            set req.http.X-Shopedge-Code = "invalid";
        } elsif (resp.status == 405) {
            set req.http.X-Shopedge-Code = "method_not_allowed";
        } elsif (resp.status == 503) {
            set req.http.X-Shopedge-Code = "unavailable";
            set resp.http.Retry-After = "5";
        } else {
            set req.http.X-Shopedge-Code = "internal";
        }
        set resp.http.Content-Type = "application/json";
        set resp.http.Cache-Control = "no-store";
        set resp.body = {"{"error":{"code":""} + req.http.X-Shopedge-Code +
            {"","message":""} + regsuball(resp.reason, {"["\\]"}, {"\\\0"}) + {"""} + "}}";
        return (deliver);
    }
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.body = resp.reason + {"
"};
    return (deliver);
}

sub vcl_deliver {
    # The cache's bookkeeping stays here.
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.X-Shopedge-SWR;
    if (resp.http.X-Shopedge-Vary) {
        set resp.http.Vary = resp.http.X-Shopedge-Vary;
        unset resp.http.X-Shopedge-Vary;
    }
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    if (req.http.X-Shopedge-Stale-If-Error) {
        set resp.http.X-Cache = resp.http.X-Cache + " stale-if-error";
    }
}
