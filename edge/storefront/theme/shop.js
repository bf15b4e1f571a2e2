// shopedge storefront script: autocomplete, cart, checkout and order pages.
// The pages are the same for every shopper (CDN-cacheable); everything
// personal (the cart id, the cart, the order) is read here from the
// edge's JSON API. No framework, no third-party code.
(function () {
  'use strict';

  var CART_KEY = 'shopedge.cart';
  var CHECKOUT_KEY = 'shopedge.checkout';
  var COUNT_KEY = 'shopedge.cartCount'; // "count@unix-ms" of the last cart read
  var COUNT_MAX_AGE = 5 * 60 * 1000;

  // ---- small helpers ---------------------------------------------------
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // h builds an element; children are nodes or strings (set as text, never
  // parsed as HTML).
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  function enc(s) { return encodeURIComponent(s); }

  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* private mode */ } },
    del: function (k) { try { window.localStorage.removeItem(k); } catch (e) { /* ignore */ } }
  };
  var session = {
    get: function (k) { try { return JSON.parse(window.sessionStorage.getItem(k) || 'null'); } catch (e) { return null; } },
    set: function (k, v) { try { window.sessionStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* ignore */ } },
    del: function (k) { try { window.sessionStorage.removeItem(k); } catch (e) { /* ignore */ } }
  };

  // money formats minor units by currency, exactly (no float arithmetic):
  // {amount: 24999, currency: "USD"} → "$249.99".
  var formats = {};
  function money(m) {
    if (!m || typeof m.amount !== 'number') return '';
    var f = formats[m.currency];
    if (f === undefined) {
      try { f = new Intl.NumberFormat('en-US', { style: 'currency', currency: m.currency }); } catch (e) { f = null; }
      formats[m.currency] = f;
    }
    var d = f ? f.resolvedOptions().maximumFractionDigits : 2;
    var digits = String(Math.abs(m.amount));
    if (d > 0) {
      while (digits.length <= d) digits = '0' + digits;
      digits = digits.slice(0, -d) + '.' + digits.slice(-d);
    }
    var s = (m.amount < 0 ? '-' : '') + digits;
    return f ? f.format(s) : s + ' ' + m.currency;
  }

  // call sends a JSON request to the edge and returns {status, ok, data}.
  function call(method, url, body, headers) {
    var opt = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' };
    Object.keys(headers || {}).forEach(function (k) { opt.headers[k] = headers[k]; });
    if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers['Content-Type'] = 'application/json'; }
    return fetch(url, opt).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { status: r.status, ok: r.ok, data: data, digest: r.headers.get('X-Shopedge-Cart-Digest') };
      });
    });
  }
  function errorText(r) {
    if (r && r.data && r.data.error && r.data.error.message) {
      var m = r.data.error.message;
      return m.charAt(0).toUpperCase() + m.slice(1);
    }
    if (r && r.status === 503) return 'The shop is busy right now; please try again in a moment.';
    return 'Something went wrong (' + (r ? r.status : 'network') + '). Please try again.';
  }
  function fail(r) { var e = new Error(errorText(r)); e.response = r; return e; }
  function sleep(ms) { return new Promise(function (res) { setTimeout(res, ms); }); }
  function randomKey() {
    var b = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(b);
    return 'web-' + Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  // ---- images: a tidy placeholder instead of a broken image ---------------
  // An image that loads gets a white box (.ok); one that fails is hidden
  // (.broken) and the box's placeholder shows.
  function loaded(img) { if (img.parentNode && img.parentNode.classList) img.parentNode.classList.add('ok'); }
  document.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t.tagName === 'IMG') t.classList.add('broken');
  }, true);
  document.addEventListener('load', function (e) {
    var t = e.target;
    if (t && t.tagName === 'IMG') loaded(t);
  }, true);
  function checkImages(root) {
    $$('img', root).forEach(function (img) {
      if (!img.complete || !img.getAttribute('src')) return;
      if (img.naturalWidth === 0) img.classList.add('broken');
      else loaded(img);
    });
  }
  function thumb(url, cls) {
    return h('span', { 'class': 'ph ' + (cls || '') }, url ? h('img', { src: url, alt: '', loading: 'lazy', decoding: 'async' }) : null);
  }

  // ---- cart --------------------------------------------------------------
  var cartId = function () { return store.get(CART_KEY); };
  // cartDigest is the signed digest of the cart as this page last read it
  // (the core's X-Shopedge-Cart-Digest on every cart answer). A checkout
  // sends it back: the edge then answers a sold-out cart itself and sends
  // the checkout to the core that owns its SKU. A stale one is only a
  // hint the edge checks against the cart's expiry; the core decides.
  var cartDigest = null;
  function itemCount(cart) {
    return cart ? cart.lines.reduce(function (n, l) { return n + l.quantity; }, 0) : 0;
  }
  function paintCount(n) {
    $$('[data-cart-count]').forEach(function (b) { b.textContent = String(n); b.hidden = n === 0; });
  }
  function showCount(cart) {
    var n = itemCount(cart);
    store.set(COUNT_KEY, n + '@' + Date.now());
    paintCount(n);
  }
  // badge paints the cart's item count on a page that does not show the
  // cart: from the count the last cart read left in local storage when it
  // is recent, so browsing costs the core no request per page view.
  function badge() {
    if (!cartId()) { paintCount(0); return; }
    var kept = (store.get(COUNT_KEY) || '').split('@');
    if (kept.length === 2 && Date.now() - Number(kept[1]) < COUNT_MAX_AGE) { paintCount(Number(kept[0]) || 0); return; }
    loadCart().then(showCount).catch(function () { /* the badge stays hidden */ });
  }
  // loadCart returns the shopper's cart, or null when there is none (an
  // expired or unknown id is forgotten).
  function loadCart() {
    var id = cartId();
    if (!id) return Promise.resolve(null);
    return call('GET', '/v1/carts/' + enc(id)).then(function (r) {
      if (r.status === 404 || r.status === 410 || r.status === 400) { store.del(CART_KEY); store.del(COUNT_KEY); return null; }
      if (!r.ok) throw fail(r);
      cartDigest = r.digest;
      return r.data;
    });
  }
  function ensureCart() {
    return loadCart().then(function (c) {
      if (c) return c;
      return call('POST', '/v1/carts').then(function (r) {
        if (!r.ok) throw fail(r);
        store.set(CART_KEY, r.data.id);
        return r.data;
      });
    });
  }
  function setQuantity(cart, sku, qty) {
    var url = '/v1/carts/' + enc(cart.id) + '/items/' + enc(sku);
    var req = qty > 0 ? call('PUT', url, { quantity: qty }) : call('DELETE', url);
    return req.then(function (r) {
      if (!r.ok) throw fail(r);
      cartDigest = r.digest;
      showCount(r.data);
      return r.data;
    });
  }
  function addToCart(sku, n) {
    return ensureCart().then(function (cart) {
      var line = cart.lines.filter(function (l) { return l.sku === sku; })[0];
      return setQuantity(cart, sku, (line ? line.quantity : 0) + n);
    });
  }
  // productInfo fetches a product's public JSON (cached by the edge and
  // the CDN) for a cart line's image and link.
  var products = {};
  function productInfo(id) {
    if (!products[id]) {
      products[id] = call('GET', '/v1/products/' + enc(id)).then(function (r) { return r.ok ? r.data : null; })
        .catch(function () { return null; });
    }
    return products[id];
  }

  // ---- autocomplete --------------------------------------------------------
  // marked returns name with the byte ranges of highlights (UTF-8 offsets,
  // as /v1/suggest sends them) wrapped in <mark>.
  function marked(name, highlights) {
    if (!highlights || !highlights.length || !window.TextEncoder) return [name];
    var bytes = new TextEncoder().encode(name), dec = new TextDecoder(), out = [], at = 0;
    highlights.forEach(function (r) {
      var a = Math.max(r[0], at), b = Math.min(r[1], bytes.length);
      if (b <= a) return;
      if (a > at) out.push(dec.decode(bytes.subarray(at, a)));
      out.push(h('mark', null, dec.decode(bytes.subarray(a, b))));
      at = b;
    });
    if (at < bytes.length) out.push(dec.decode(bytes.subarray(at)));
    return out;
  }

  function suggestBox(input) {
    var list = document.getElementById(input.getAttribute('aria-controls'));
    if (!list) return;
    var opts = [], active = -1, seq = 0, timer = 0, lastQ = null;

    function open() { if (opts.length) { list.hidden = false; input.setAttribute('aria-expanded', 'true'); } }
    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      setActive(-1);
    }
    function setActive(i) {
      active = i;
      opts.forEach(function (o, j) { o.el.setAttribute('aria-selected', j === i ? 'true' : 'false'); });
      if (i >= 0) {
        input.setAttribute('aria-activedescendant', opts[i].el.id);
        opts[i].el.scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }
    function go(url) { close(); window.location.assign(url); }
    function add(url, children) {
      var el = h('li', { role: 'option', id: list.id + '-' + opts.length, 'aria-selected': 'false' }, children);
      el.addEventListener('mousedown', function (e) { e.preventDefault(); }); // keep focus in the box
      el.addEventListener('click', function () { go(url); });
      list.appendChild(el);
      opts.push({ el: el, url: url });
    }
    function render(q, data) {
      list.textContent = '';
      opts = [];
      (data.products || []).forEach(function (p) {
        add(p.url, [thumb(p.image, 's-thumb'), h('span', { 'class': 's-text' }, marked(p.name, p.highlights)),
          h('span', { 'class': 's-price' }, money(p.price))]);
      });
      var cats = (data.categories || []).slice(0, 3);
      if (cats.length && opts.length) list.appendChild(h('li', { 'class': 's-sep', role: 'presentation' }));
      cats.forEach(function (c) {
        add('/search?q=' + enc(q) + '&category=' + enc(c.name), [h('span', { 'class': 's-text' }, q + ' in ', h('b', null, c.name)),
          h('span', { 'class': 's-kind' }, c.count + (c.count === 1 ? ' product' : ' products'))]);
      });
      add('/search?q=' + enc(q), [h('span', { 'class': 's-text' }, 'Search for “', h('b', null, q), '”')]);
      setActive(-1);
      if (document.activeElement === input) open();
    }
    function update() {
      var q = input.value.trim();
      if (q === lastQ) { open(); return; }
      lastQ = q;
      var my = ++seq;
      if (!q) { list.textContent = ''; opts = []; close(); return; }
      fetch('/v1/suggest?limit=8&q=' + enc(q), { headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && my === seq) render(q, data); })
        .catch(function () { /* keep the old list */ });
    }
    input.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(update, 40); });
    input.addEventListener('focus', function () { if (input.value.trim()) update(); });
    input.addEventListener('blur', function () { setTimeout(close, 120); });
    input.addEventListener('keydown', function (e) {
      var n = opts.length;
      switch (e.key) {
        case 'ArrowDown':
          if (!n) return;
          e.preventDefault();
          if (list.hidden) open();
          setActive(active + 1 >= n ? 0 : active + 1);
          break;
        case 'ArrowUp':
          if (!n) return;
          e.preventDefault();
          if (list.hidden) open();
          setActive(active <= 0 ? n - 1 : active - 1);
          break;
        case 'Enter':
          if (!list.hidden && active >= 0) { e.preventDefault(); go(opts[active].url); }
          break;
        case 'Escape':
          if (!list.hidden) { e.preventDefault(); close(); }
          break;
      }
    });
  }

  // ---- product page --------------------------------------------------------
  function productPage(form) {
    var msg = $('[data-buy-msg]', form.parentNode) || h('p', { 'class': 'msg', hidden: true });
    var btn = $('button[type=submit]', form);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var pick = $('input[name=add]:checked', form) || $('input[name=add]', form);
      var qty = Math.max(1, Math.min(99, parseInt(($('input[name=qty]', form) || {}).value, 10) || 1));
      if (!pick || pick.disabled) return;
      btn.setAttribute('aria-busy', 'true');
      btn.disabled = true;
      addToCart(pick.value, qty).then(function () {
        say(msg, 'ok', ['Added to your cart. ', h('a', { href: '/cart' }, 'View cart →')]);
      }).catch(function (err) {
        say(msg, 'bad', err.message);
      }).then(function () {
        btn.removeAttribute('aria-busy');
        btn.disabled = false;
      });
    });
  }
  function say(el, kind, content) {
    el.className = 'msg ' + kind;
    el.textContent = '';
    append(el, content);
    el.hidden = false;
  }

  // ---- cart page -------------------------------------------------------------
  // lineView shows one cart or order line: the product's image and link
  // (from its public JSON), name, unit price and total, and what extra
  // holds (the cart's quantity stepper).
  function lineView(l, extra) {
    var img = thumb('', '');
    var name = h('a', { 'class': 'l-name' }, l.name);
    productInfo(l.product_id).then(function (p) {
      if (!p) return;
      name.setAttribute('href', '/products/' + enc(p.slug));
      if (p.image) img.appendChild(h('img', { src: p.image, alt: '', loading: 'lazy' }));
    });
    return h('li', { 'class': 'line', 'data-sku': l.sku }, img,
      h('div', null, name, h('div', { 'class': 'l-meta' }, l.quantity + ' × ' + money(l.unit_price)), extra || null),
      h('div', { 'class': 'l-total' }, money(l.line_total)));
  }
  function cartLineView(l, onChange) {
    return lineView(l, [h('span', { 'class': 'stepper' },
      h('button', { type: 'button', 'aria-label': 'One less', onclick: function () { onChange(l.sku, l.quantity - 1); } }, '−'),
      h('span', { 'aria-label': 'Quantity' }, l.quantity),
      h('button', { type: 'button', 'aria-label': 'One more', onclick: function () { onChange(l.sku, l.quantity + 1); } }, '+')),
    h('button', { type: 'button', 'class': 'link-btn', onclick: function () { onChange(l.sku, 0); } }, 'Remove')]);
  }
  function summaryView(cart, action) {
    var n = itemCount(cart);
    return h('div', { 'class': 'sum' },
      h('div', { 'class': 'row' }, h('span', null, 'Items (' + n + ')'), h('span', null, money(cart.totals))),
      h('div', { 'class': 'row muted' }, h('span', null, 'Shipping'), h('span', null, 'Free')),
      h('div', { 'class': 'row total' }, h('span', null, 'Total'), h('span', { 'data-total': '' }, money(cart.totals))),
      action);
  }
  function emptyCart(root) {
    root.textContent = '';
    root.classList.remove('two');
    root.appendChild(h('div', { 'class': 'empty' }, h('h2', null, 'Your cart is empty'),
      h('p', null, 'Find something you like and add it here.'), h('a', { 'class': 'btn btn-primary', href: '/' }, 'Start shopping')));
  }
  function cartPage(root) {
    var busy = false;
    function render(cart) {
      showCount(cart);
      if (!cart || !cart.lines.length) { emptyCart(root); return; }
      root.textContent = '';
      var lines = h('ul', { 'class': 'lines' }, cart.lines.map(function (l) { return cartLineView(l, change); }));
      root.appendChild(h('div', { 'class': 'two' },
        h('section', { 'class': 'panel' }, lines),
        h('aside', { 'class': 'panel' }, h('h2', null, 'Summary'),
          summaryView(cart, h('a', { 'class': 'btn btn-primary btn-lg btn-block', href: '/checkout', 'data-go-checkout': '' }, 'Checkout')))));
      function change(sku, qty) {
        if (busy) return;
        busy = true;
        setQuantity(cart, sku, Math.max(0, Math.min(99, qty))).then(render).catch(function (err) {
          root.insertBefore(h('p', { 'class': 'msg bad' }, err.message), root.firstChild);
        }).then(function () { busy = false; });
      }
    }
    var add = new URLSearchParams(window.location.search).get('add');
    var qty = parseInt(new URLSearchParams(window.location.search).get('qty'), 10) || 1;
    var first = add ? addToCart(add, Math.max(1, Math.min(99, qty))).then(function (c) {
      window.history.replaceState(null, '', '/cart');
      return c;
    }) : loadCart();
    first.then(render).catch(function (err) {
      root.textContent = '';
      root.appendChild(h('p', { 'class': 'msg bad' }, err.message));
    });
  }

  // ---- checkout page -----------------------------------------------------------
  function checkoutPage(form) {
    var summary = $('[data-checkout-summary]');
    var msg = $('[data-checkout-msg]');
    var btn = $('button[type=submit]', form);
    var cart = null;
    loadCart().then(function (c) {
      cart = c;
      showCount(c);
      if (!c || !c.lines.length) {
        emptyCart($('[data-checkout-page]'));
        return;
      }
      summary.textContent = '';
      summary.appendChild(h('ul', { 'class': 'lines compact' }, c.lines.map(function (l) { return lineView(l); })));
      summary.appendChild(summaryView(c, null));
      btn.disabled = false;
    }).catch(function (err) { say(msg, 'bad', err.message); });

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!cart || !form.reportValidity()) return;
      var body = { cart_id: cart.id, payment_token: form.elements.payment_token.value, email: form.elements.email.value.trim() };
      var text = JSON.stringify(body);
      // The same submission keeps its Idempotency-Key, so a retry after a
      // lost answer can never pay twice; a changed one gets a new key.
      var prev = session.get(CHECKOUT_KEY);
      var key = prev && prev.body === text ? prev.key : randomKey();
      session.set(CHECKOUT_KEY, { key: key, body: text });
      btn.disabled = true;
      btn.setAttribute('aria-busy', 'true');
      say(msg, 'info', 'Placing your order…');
      submit(body, key, 0).catch(function (err) { say(msg, 'bad', err.message); }).then(function () {
        btn.disabled = false;
        btn.removeAttribute('aria-busy');
      });
    });

    function submit(body, key, attempt) {
      var headers = { 'Idempotency-Key': key };
      if (cartDigest) headers['X-Shopedge-Cart-Digest'] = cartDigest;
      return call('POST', '/v1/checkout', body, headers).then(function (r) {
        if (r.status === 201 && r.data && r.data.id) {
          store.del(CART_KEY);
          store.del(COUNT_KEY);
          session.del(CHECKOUT_KEY);
          window.location.assign('/orders/' + enc(r.data.id) + '?token=' + enc(r.data.token));
          return new Promise(function () { /* navigating */ });
        }
        var code = r.data && r.data.error ? r.data.error.code : '';
        if ((code === 'payment_unknown' || code === 'request_in_flight' || r.status === 0) && attempt < 15) {
          say(msg, 'info', 'Confirming your payment…');
          return sleep(1000 + attempt * 500).then(function () { return submit(body, key, attempt + 1); });
        }
        if (code === 'out_of_stock' && r.data.error.details) {
          var names = {};
          cart.lines.forEach(function (l) { names[l.sku] = l.name; });
          throw new Error('Not enough stock: ' + r.data.error.details.map(function (s) {
            return (names[s.sku] || s.sku) + ' (' + s.available + ' left)';
          }).join(', ') + '. Change your cart and try again.');
        }
        if (code === 'payment_declined') throw new Error(errorText(r) + '. Choose another payment method.');
        throw fail(r);
      }, function () {
        if (attempt < 5) return sleep(1000).then(function () { return submit(body, key, attempt + 1); });
        throw new Error('The shop cannot be reached. Your order was not placed twice; try again.');
      });
    }
  }

  // ---- order page ------------------------------------------------------------------
  var statusText = {
    paid: 'Paid', pending_payment: 'Confirming payment', payment_failed: 'Payment failed', expired: 'Expired', cancelled: 'Cancelled'
  };
  function orderPage(root) {
    var m = window.location.pathname.match(/^\/orders\/([^/]+)$/);
    var token = new URLSearchParams(window.location.search).get('token') || '';
    if (!m) return;
    var id = decodeURIComponent(m[1]);
    function render(o) {
      root.textContent = '';
      var head = o.status === 'paid'
        ? [h('div', { 'class': 'done-mark', 'aria-hidden': 'true' }, '✓'), h('h1', null, 'Thank you for your order')]
        : [h('h1', null, 'Your order')];
      root.appendChild(h('section', { 'class': 'panel' }, head,
        h('p', null, h('span', { 'class': 'status ' + o.status, 'data-order-status': o.status }, statusText[o.status] || o.status)),
        h('p', { 'class': 'muted' }, 'Order ', h('code', null, o.id), o.email ? ' · a confirmation goes to ' + o.email : ''),
        h('ul', { 'class': 'lines' }, o.lines.map(function (l) { return lineView(l); })),
        h('div', { 'class': 'sum' }, h('div', { 'class': 'row total' }, h('span', null, 'Total'), h('span', { 'data-total': '' }, money(o.totals)))),
        h('p', null, h('a', { 'class': 'btn', href: '/' }, 'Continue shopping'))));
    }
    function poll(n) {
      return call('GET', '/v1/orders/' + enc(id) + '?token=' + enc(token)).then(function (r) {
        if (!r.ok) {
          root.textContent = '';
          root.appendChild(h('div', { 'class': 'empty' }, h('h2', null, r.status === 404 ? 'Order not found' : 'Cannot show this order'),
            h('p', null, r.status === 404 ? 'Check the link you followed: it must include the order’s token.' : errorText(r))));
          return;
        }
        render(r.data);
        if (r.data.status === 'pending_payment' && n < 20) return sleep(1500).then(function () { return poll(n + 1); });
      });
    }
    poll(0).catch(function (err) { root.textContent = ''; root.appendChild(h('p', { 'class': 'msg bad' }, err.message)); });
  }

  // ---- listing pages ----------------------------------------------------------------
  function listingPage() {
    $$('select[data-autosubmit]').forEach(function (s) {
      s.addEventListener('change', function () { s.form.submit(); });
      var b = $('button[data-nojs]', s.form);
      if (b) b.hidden = true;
    });
    var filters = $('details.filters');
    if (filters && window.matchMedia && window.matchMedia('(max-width: 860px)').matches) filters.open = false;
  }

  // ---- start -------------------------------------------------------------------------
  function start() {
    checkImages(document);
    $$('input[data-suggest]').forEach(suggestBox);
    listingPage();
    var buy = $('form[data-add-to-cart]');
    if (buy) productPage(buy);
    var cartRoot = $('[data-cart-page]');
    var checkout = $('form[data-checkout]');
    var order = $('[data-order-page]');
    if (cartRoot) cartPage(cartRoot);
    else if (checkout) checkoutPage(checkout);
    else {
      if (order) orderPage(order);
      badge();
    }
  }
  // A page restored from the back-forward cache shows the count it had.
  window.addEventListener('pageshow', function (e) { if (e.persisted) badge(); });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
