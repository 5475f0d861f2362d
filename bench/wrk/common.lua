-- Shared by every scenario script: thread ids, status counters, token
-- files, and a done() that prints one machine-readable line.
local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

c200, c401, c429, c503, cother = 0, 0, 0, 0, 0

function count(status)
  if status == 200 then c200 = c200 + 1
  elseif status == 401 then c401 = c401 + 1
  elseif status == 429 then c429 = c429 + 1
  elseif status == 503 then c503 = c503 + 1
  else cother = cother + 1 end
end

function lines(path)
  local t = {}
  for l in io.lines(path) do
    if #l > 0 then t[#t + 1] = l end
  end
  return t
end

-- share returns this thread's part of the lines of path.
function share(path)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  local mine = {}
  for k, l in ipairs(lines(path)) do
    if (k - 1) % n == tid then mine[#mine + 1] = l end
  end
  return mine
end

-- wrk calls request() once on the first thread before the run, to see
-- what the script sends, and never sends that request: scripts that hand
-- out tokens give that call a placeholder instead of a token.
function probing()
  if tid == 0 and not probed then
    probed = true
    return true
  end
  return false
end

function bearer(method, path, tok)
  return wrk.format(method, path, {["Authorization"] = "Bearer " .. tok})
end

function done(summary, latency, requests)
  local c = {c200 = 0, c401 = 0, c429 = 0, c503 = 0, cother = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(c) do c[k] = c[k] + (t:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d,"c200":%d,"c401":%d,"c429":%d,"c503":%d,"cother":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout, c.c200, c.c401, c.c429, c.c503, c.cother))
end
