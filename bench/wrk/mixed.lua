-- Of every 100 requests: 1 login, 9 refreshes (chained, as in refresh.lua),
-- 90 authenticated reads of GET /me over the tokens in $BENCH_TOKENS.
local reads, queue, login = {}, {}, nil
local i, n = 0, 0

function init(args)
  for _, tok in ipairs(lines(os.getenv("BENCH_TOKENS"))) do
    reads[#reads + 1] = bearer("GET", "/me", tok)
  end
  i = (tid * 7919) % #reads
  n = tid * 37
  queue = share(os.getenv("BENCH_REFRESH"))
  login = wrk.format("POST", "/auth/login", {["Content-Type"] = "application/json"}, os.getenv("BENCH_LOGIN"))
end

function request()
  if probing() then return reads[1] end
  n = n + 1
  local r = n % 100
  if r == 0 then return login end
  if r <= 9 then
    local tok = table.remove(queue)
    if tok then return bearer("POST", "/auth/refresh", tok) end
  end
  i = i % #reads + 1
  return reads[i]
end

function response(status, headers, body)
  count(status)
  if status == 200 and #body > 200 then
    local tok = body:match('"refresh_token":"([^"]+)"')
    if tok then queue[#queue + 1] = tok end
  end
end
