-- wrk script: POST /v1/search with the request bodies `memd bench load` sends, so wrk can
-- cross-check its numbers (scripts/bench-wrk.sh runs both tools back to back).
--
--   memd bench queries --queries cached > cached.jsonl            # the 50 fixed queries
--   memd bench queries --queries cold --count 20000 > cold.jsonl  # cold texts, no suffix yet
--   wrk -t2 -c8 -d20s --latency -s scripts/wrk/search.lua http://127.0.0.1:18420 \
--       -- cached.jsonl cached [API_KEY]
--
-- Arguments after `--`: the bodies file (one JSON object a line), the variant, an optional key.
--   cached: each request is a uniformly chosen line, as `--queries cached` picks its queries
--           (answered from the result cache once warmed).
--   cold:   the lines in turn (each thread from its own offset), each query text extended with a
--           unique suffix ` (note <nonce>-w<thread>-<n>)` as a cold `memd bench load` worker
--           does, so no request hits the query-embedding cache or the result cache.
-- done() prints one JSON line with throughput, p50/p75/p90/p95/p99 and the error counts.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file = args[1] or error("usage: -- BODIES_FILE [cached|cold] [API_KEY]")
  variant = args[2] or "cached"
  if variant ~= "cached" and variant ~= "cold" then
    error("variant must be cached or cold, not " .. variant)
  end
  bodies = {}
  for line in io.lines(file) do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  if #bodies == 0 then
    error(file .. " holds no request bodies")
  end
  wrk.method = "POST"
  wrk.path = "/v1/search"
  wrk.headers["Content-Type"] = "application/json"
  if args[3] and #args[3] > 0 then
    wrk.headers["Authorization"] = "Bearer " .. args[3]
  end
  -- Differs between runs (seconds since the epoch), so cold texts miss caches across runs too.
  nonce = os.time() % 100000000
  sent = 0
end

function request()
  local me = id or 0
  sent = sent + 1
  local body
  if variant == "cached" then
    if sent == 1 then
      math.randomseed(nonce + me)
    end
    body = bodies[math.random(#bodies)]
  else
    local line = bodies[(me * 7919 + sent) % #bodies + 1]
    local suffix = string.format(" (note %d-w%d-%d)", nonce, me, sent)
    -- The texts need no JSON escaping (a unit test of `memd bench queries` checks), so the
    -- first quote after `"query":"` ends the text.
    body = line:gsub('"query":"(.-)"', function(text)
      return '"query":"' .. text .. suffix .. '"'
    end, 1)
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local ms = function(p)
    return latency:percentile(p) / 1000
  end
  io.write(string.format(
    '{"tool":"wrk","requests":%d,"duration_s":%.3f,"ops_per_s":%.1f,"p50_ms":%.3f,'
      .. '"p75_ms":%.3f,"p90_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,'
      .. '"mean_ms":%.3f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    ms(50), ms(75), ms(90), ms(95), ms(99), latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
