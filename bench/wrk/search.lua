-- search.lua: real queries against GET /v1/search, one request per query,
-- in file order from each thread's own offset (a warm-up pass makes the
-- edge answer them from its answer cache).
--
--   wrk -t2 -c64 -d10s -s bench/wrk/search.lua http://127.0.0.1:8080 -- ../shared/data/queries/bestbuy-queries.tsv [per_page]

local paths, i = {}, 0

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    if c == " " then return "+" end
    return string.format("%%%02X", string.byte(c))
  end))
end

local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

function init(args)
  local file = args[1] or "../shared/data/queries/bestbuy-queries.tsv"
  local perPage = args[2] or "10"
  local f = assert(io.open(file, "r"), "cannot open queries file " .. file)
  local header = true
  for line in f:lines() do
    if header then
      header = false
    else
      local q = line:match("^([^\t]*)")
      if q and q ~= "" then
        paths[#paths + 1] = "/v1/search?q=" .. escape(q) .. "&per_page=" .. perPage
      end
    end
  end
  f:close()
  assert(#paths > 0, "no queries in " .. file)
  i = ((offset or 0) * 7919) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
