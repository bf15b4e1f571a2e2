-- get.lua: GET one fixed path, given as the script's argument, so that
-- compare.sh can pair any route with a baseline.
--   wrk -t2 -c64 -d5s -s bench/wrk/get.lua http://127.0.0.1:8080 -- /v1/carts/<id>
local path = "/"

function init(args)
  if args[1] then path = args[1] end
end

function request()
  return wrk.format("GET", path)
end
