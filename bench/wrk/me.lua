-- GET /me, rotating over the access tokens in $BENCH_TOKENS (one or many).
local reqs = {}
local i = 0

function init(args)
  for _, tok in ipairs(lines(os.getenv("BENCH_TOKENS"))) do
    reqs[#reqs + 1] = bearer("GET", "/me", tok)
  end
  i = (tid * 7919) % #reqs
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
