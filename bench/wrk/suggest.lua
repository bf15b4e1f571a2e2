-- suggest.lua: keystroke-by-keystroke replay of real queries against
-- GET /v1/suggest: for "sam tv" it sends q=s, q=sa, q=sam, q=sam+, q=sam+t,
-- q=sam+tv, then the next query; each thread starts at its own offset.
--
--   wrk -t2 -c64 -d10s -s bench/wrk/suggest.lua http://127.0.0.1:8080 -- ../shared/data/queries/bestbuy-queries.tsv [limit]

local paths, i = {}, 0

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    if c == " " then return "+" end
    return string.format("%%%02X", string.byte(c))
  end))
end

-- prefixes appends every prefix of q, one UTF-8 character longer each time.
local function prefixes(q, limit)
  local n = #q
  for j = 1, n do
    local nxt = q:byte(j + 1)
    -- cut only before the first byte of a character (not 10xxxxxx)
    if j == n or nxt < 0x80 or nxt >= 0xC0 then
      paths[#paths + 1] = "/v1/suggest?q=" .. escape(q:sub(1, j)) .. "&limit=" .. limit
    end
  end
end

local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

function init(args)
  local file = args[1] or "../shared/data/queries/bestbuy-queries.tsv"
  local limit = args[2] or "10"
  local f = assert(io.open(file, "r"), "cannot open queries file " .. file)
  local header = true
  for line in f:lines() do
    if header then
      header = false
    else
      local q = line:match("^([^\t]*)")
      if q and q ~= "" then prefixes(q, limit) end
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
