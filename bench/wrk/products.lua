-- products.lua: GET /v1/products/{id} with Zipf-distributed ids (s = 1.1),
-- the most popular id first in the ids file (one id per line; make it with
-- `bin/bench ids > /tmp/ids.txt`).
--
--   wrk -t2 -c64 -d10s -s bench/wrk/products.lua http://127.0.0.1:8080 -- /tmp/ids.txt [s] [html]
--
-- With "html" as the third argument the ids file must hold slugs
-- (`bin/bench ids -slugs`) and the requests are GET /products/{slug}.

local paths, cdf = {}, {}

local function load(file, prefix)
  local f = assert(io.open(file, "r"), "cannot open ids file " .. file)
  for line in f:lines() do
    if line ~= "" then paths[#paths + 1] = prefix .. line end
  end
  f:close()
  assert(#paths > 0, "ids file " .. file .. " is empty")
end

local function build_cdf(s)
  local sum = 0
  for k = 1, #paths do
    sum = sum + k ^ (-s)
    cdf[k] = sum
  end
  for k = 1, #paths do cdf[k] = cdf[k] / sum end
  cdf[#paths] = 1
end

-- sample returns the smallest rank whose cumulative probability is >= u.
local function sample()
  local u, lo, hi = math.random(), 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

function init(args)
  local file = args[1] or "/tmp/ids.txt"
  local s = tonumber(args[2] or "1.1")
  local prefix = "/v1/products/"
  if args[3] == "html" then prefix = "/products/" end
  load(file, prefix)
  build_cdf(s)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

function request()
  return wrk.format("GET", paths[sample()])
end
