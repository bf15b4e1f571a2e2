-- checkout.lua: every connection plays buyers one after another: create a
-- cart, add one unit of a SKU, check out with a unique Idempotency-Key and
-- payment_token tok_ok. Run with as many threads as connections (-t N -c N)
-- so each thread's responses come back in the order of its requests.
--
--   wrk -t8 -c8 -d10s -s bench/wrk/checkout.lua http://127.0.0.1:8080 -- <sku> [payment_token]
--
-- The summary counts paid orders, sold-out answers (409) and other
-- failures per step. Check oversell afterwards on the core:
--   curl -H "Authorization: Bearer $SHOPEDGE_ADMIN_TOKEN" 127.0.0.1:9090/admin/v1/stock/<sku>

local sku, token = "fs-hot-1", "tok_ok"
local state, cart = "create", nil
local seq = 0
-- tid is a global set per thread by setup() (a local here would hide it).
local paid, soldout, failed = 0, 0, 0

local threads, nthreads = {}, 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  threads[#threads + 1] = thread
end

function init(args)
  sku = args[1] or sku
  token = args[2] or token
  math.randomseed(os.time() * 1000 + (tid or 0))
  wrk.headers["Content-Type"] = "application/json"
end

local function next_request()
  if state == "create" then
    return wrk.format("POST", "/v1/carts", nil, "{}")
  elseif state == "add" then
    return wrk.format("PUT", "/v1/carts/" .. cart .. "/items/" .. sku, nil, '{"quantity":1}')
  end
  seq = seq + 1
  local key = string.format("wrk-%d-%d-%d-%d", os.time(), tid or 0, seq, math.random(1, 1e9))
  local body = string.format('{"cart_id":"%s","payment_token":"%s","email":"wrk%d@example.com"}', cart, token, seq)
  return wrk.format("POST", "/v1/checkout", { ["Idempotency-Key"] = key }, body)
end

function request()
  return next_request()
end

function response(status, headers, body)
  if state == "create" then
    cart = status == 201 and body:match('"id"%s*:%s*"([^"]+)"') or nil
    if cart then state = "add" else failed = failed + 1 end
  elseif state == "add" then
    if status == 200 then state = "checkout" else failed = failed + 1; state = "create" end
  else
    if status == 201 and body:find('"status"%s*:%s*"paid"') then
      paid = paid + 1
    elseif status == 409 then
      soldout = soldout + 1
    else
      failed = failed + 1
    end
    state = "create"
  end
  -- publish this thread's counters for done()
  _G.paid_count, _G.soldout_count, _G.failed_count = paid, soldout, failed
end

function done(summary, latency, requests)
  local p, s, f = 0, 0, 0
  for _, t in ipairs(threads) do
    p = p + (t:get("paid_count") or 0)
    s = s + (t:get("soldout_count") or 0)
    f = f + (t:get("failed_count") or 0)
  end
  io.write(string.format("checkouts: paid %d, sold out (409) %d, failed steps %d; paid/s %.1f\n",
    p, s, f, p / (summary.duration / 1e6)))
end
