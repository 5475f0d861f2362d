-- POST /auth/login with the JSON body in $BENCH_LOGIN.
local req

function init(args)
  req = wrk.format("POST", "/auth/login", {["Content-Type"] = "application/json"}, os.getenv("BENCH_LOGIN"))
end

function request()
  return req
end

function response(status, headers, body)
  count(status)
end
