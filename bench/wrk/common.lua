-- Shared by match.lua and adhoc.lua: per-thread status counts, and one JSON summary line at the end.
-- Loaded with dofile() by the scripts; `threads` collects every wrk thread in setup().

threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("number", thread_count)
   table.insert(threads, thread)
end

function read_lines(path)
   local file = assert(io.open(path, "r"), "cannot open " .. path)
   local lines = {}
   for line in file:lines() do
      if line ~= "" then
         lines[#lines + 1] = line
      end
   end
   file:close()
   assert(#lines > 0, path .. " is empty")
   return lines
end

-- Each script's request() adds one to `sent`, so that requests never answered show up too.
function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts, sent = {}, 0
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + count
      end
      sent = sent + thread:get("sent")
   end
   local parts = {}
   for status, count in pairs(counts) do
      parts[#parts + 1] = string.format('"%d": %d', status, count)
   end
   local e = summary.errors
   io.write(string.format(
      'XINGPEI_WRK {"requests": %d, "sent": %d, "duration_us": %d, "bytes": %d, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}, '
         .. '"statuses": {%s}}\n',
      summary.requests, sent, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      latency.max, latency.mean, table.concat(parts, ", ")))
end
