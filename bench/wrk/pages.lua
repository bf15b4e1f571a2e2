-- pages.lua: GET storefront pages as a CDN fetches them (Accept-Encoding:
-- gzip), round-robin over the paths given as the script's arguments
-- (pages.sh runs it beside products.lua on the same edge).
--   wrk -t2 -c64 -d5s -s bench/wrk/pages.lua http://127.0.0.1:8080 -- / /c/cell-phones
local paths, i = { "/" }, 0

function init(args)
  if #args > 0 then paths = args end
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
