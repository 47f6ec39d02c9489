-- wrk script of bench/throughput.py: POST one GraphQL request and compare every answer with the reference
-- answer, byte for byte; count HTTP statuses other than 200 and bodies that differ, and keep the first such
-- answer of each thread in a file (SAMPLE_PREFIX.N).
--   wrk -t2 -c50 -d30s --timeout 10s -s check.lua URL -- REQUEST_BODY_FILE REFERENCE_FILE SAMPLE_PREFIX
local threads = {}

local function slurp(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  request_text = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, slurp(args[1]))
  reference = slurp(args[2])
  sample_prefix = args[3]
  good, non200, mismatch, sampled = 0, 0, 0, false
end

function request()
  return request_text
end

local function keep_sample(status, body)
  if sampled or not sample_prefix then return end
  sampled = true
  local file = io.open(sample_prefix .. "." .. tostring(thread_no), "wb")
  if file then
    file:write("HTTP " .. tostring(status) .. "\n" .. (body or ""))
    file:close()
  end
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    keep_sample(status, body)
  elseif body ~= reference then -- strings are interned: equal contents, one string
    mismatch = mismatch + 1
    keep_sample(status, body)
  else
    good = good + 1
  end
end

function done(summary, latency, requests)
  local ok, bad_status, bad_body = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("good") or 0)
    bad_status = bad_status + (thread:get("non200") or 0)
    bad_body = bad_body + (thread:get("mismatch") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.6f p50_us=%d p90_us=%d p99_us=%d max_us=%d ok=%d non200=%d mismatch=%d " ..
    "connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    ok, bad_status, bad_body, errors.connect, errors.read, errors.write, errors.timeout))
end
