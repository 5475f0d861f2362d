-- POST /auth/refresh, chaining sessions: every refresh presents a refresh
-- token from $BENCH_REFRESH or one that an earlier answer returned, so each
-- session's tokens are used one after the other, as a client does.
local queue = {}

function init(args)
  queue = share(os.getenv("BENCH_REFRESH"))
end

function request()
  if probing() then return bearer("POST", "/auth/refresh", "probe") end
  return bearer("POST", "/auth/refresh", table.remove(queue) or "exhausted")
end

function response(status, headers, body)
  count(status)
  if status == 200 then
    local tok = body:match('"refresh_token":"([^"]+)"')
    if tok then queue[#queue + 1] = tok end
  end
end
