-- Ad-hoc profiles under load: POST /api/v1/match/buildings with firms that are not stored.
-- wrk --latency -s bench/wrk/adhoc.lua URL -- TOKEN BODIES_FILE
--   TOKEN        a staff API token
--   BODIES_FILE  one JSON enterprise record a line; the text __SEQ__ in it is replaced by a number
--                unique to each request, so every request carries a new text the server must encode
-- Counts every response's status per thread; done() prints one XINGPEI_WRK {...} JSON line.

dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
   local token = assert(args[1], "usage: -- TOKEN BODIES_FILE")
   bodies = read_lines(assert(args[2], "usage: -- TOKEN BODIES_FILE"))
   headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
   }
   statuses = {}
   sent = 0
   sequence = 0
   run = tostring(os.time())
end

function request()
   sent = sent + 1
   sequence = sequence + 1
   local template = bodies[(sequence + number) % #bodies + 1]
   local body = template:gsub("__SEQ__", run .. "-" .. number .. "-" .. sequence)
   return wrk.format("POST", "/api/v1/match/buildings?k=10", headers, body)
end
