-- Stored-firm matches under load: GET /api/v1/enterprises/{id}/matches/buildings, cycling over firm ids.
-- wrk --latency -s bench/wrk/match.lua URL -- TOKEN IDS_FILE [PATH_FORMAT]
--   TOKEN      a staff API token (xingpei users add NAME --role staff, last line)
--   IDS_FILE   one stored firm id a line
--   PATH_FORMAT  string.format pattern with one %s for the id
--                (default /api/v1/enterprises/%s/matches/buildings?k=10)
-- Counts every response's status per thread; done() prints one XINGPEI_WRK {...} JSON line.

dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

function init(args)
   local token = assert(args[1], "usage: -- TOKEN IDS_FILE [PATH_FORMAT]")
   ids = read_lines(assert(args[2], "usage: -- TOKEN IDS_FILE [PATH_FORMAT]"))
   path_format = args[3] or "/api/v1/enterprises/%s/matches/buildings?k=10"
   headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" }
   statuses = {}
   sent = 0
   -- Threads start at different places in the list.
   position = ((number - 1) * math.floor(#ids / 7 + 1)) % #ids
end

function request()
   sent = sent + 1
   position = position % #ids + 1
   return wrk.format("GET", string.format(path_format, ids[position]), headers)
end
