-- wrk script for `python -m bench`: one request shape per case.
-- Arguments after `--`: method, path, expected status, number of users, and
-- 1 to send each request as if from another client (X-Forwarded-For).
-- Environment: BENCH_COOKIE (a Cookie header value) and BENCH_BODY (a form
-- body, where %07d becomes a random user number); passed in the environment
-- rather than on the command line, where `ps` would show them.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  method, path, expected, users = args[1], args[2], tonumber(args[3]), tonumber(args[4])
  many_clients = args[5] == "1"
  cookie, body = os.getenv("BENCH_COOKIE") or "", os.getenv("BENCH_BODY") or ""
  headers = {}
  if cookie ~= "" then headers["Cookie"] = cookie end
  if body ~= "" then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  -- Requests that do not change are formatted once.
  static = wrk.format(method, path, headers, body ~= "" and body or nil)
  unexpected = 0
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

function request()
  if many_clients then
    -- 198.18.0.0/15 is set aside for benchmarks (RFC 2544): a made-up client
    -- per request, so per-IP rate limits see many clients, not one.
    headers["X-Forwarded-For"] = string.format("198.18.%d.%d", math.random(0, 255), math.random(1, 254))
  end
  if users > 0 and body ~= "" then
    return wrk.format(method, path, headers, string.format(body, math.random(users)))
  end
  return static
end

-- A 200 where a 303 was expected (a failed sign-in, a profile page that
-- redirects to sign in) is an error too, though wrk would count it a success.
function response(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end

-- Two lines the Python side parses: the counts, then every latency seen
-- (microseconds:how many), so that several runs can be merged exactly.
function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format("wrk-result requests=%d duration_us=%d socket_errors=%d non_2xx_3xx=%d unexpected=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, wrong))
  local seen = {}
  for i = 1, #latency do
    local value, count = latency(i)
    table.insert(seen, string.format("%d:%d", value, count))
  end
  io.write("wrk-latency " .. table.concat(seen, " ") .. "\n")
end
