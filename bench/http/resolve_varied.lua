-- wrk script: POST /v1/resolve with bodies that (almost) never repeat: one of
-- MODELS models (BENCH_MODELS, default 1000), a type, and random overrides,
-- so each answer is computed rather than found in the server's answer cache.
local models = tonumber(os.getenv("BENCH_MODELS") or "1000")
local types = { "quality", "speed" }
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"model_id":"bench-model-%06d","configuration_type":"%s","overrides":{"steps":%d,"denoise":%.3f}}',
    math.random(0, models - 1), types[math.random(1, 2)], math.random(1, 4), math.random())
  return wrk.format("POST", "/v1/resolve", { ["Content-Type"] = "application/json" }, body)
end
