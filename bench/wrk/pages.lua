-- pages.lua: GET storefront pages as a CDN fetches them (Accept-Encoding:
-- gzip), round-robin over the paths given as the script's arguments
-- (pages.sh runs it beside products.lua on the same edge).
--   wrk -t2 -c64 -d5s -s bench/wrk/pages.lua http://127.0.0.1:8080 -- / /c/cell-phones
local paths, i = { "/" }, 0

-- Each thread starts at its own share of the list (with a list longer
-- than the pages the edge keeps rendered, two threads in step would turn
-- each other's misses into hits).
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

-- "@file" as the only argument reads the paths from file, one a line.
function init(args)
  if #args == 1 and args[1]:sub(1, 1) == "@" then
    paths = {}
    local f = assert(io.open(args[1]:sub(2), "r"), "cannot open " .. args[1]:sub(2))
    for line in f:lines() do
      if line ~= "" then paths[#paths + 1] = line end
    end
    f:close()
    assert(#paths > 0, args[1] .. " is empty")
  elseif #args > 0 then
    paths = args
  end
  i = ((tid or 0) * math.floor(#paths / 2)) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
