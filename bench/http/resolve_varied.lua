-- wrk script: POST /v1/resolve with bodies that (almost) never repeat: one of
-- MODELS models (BENCH_MODELS, default 1000), a type, and random overrides,
-- so each answer is computed rather than found in the server's answer cache.
-- BENCH_HARDWARE (a shipped profile's id) adds "hardware" to every body.
local models = tonumber(os.getenv("BENCH_MODELS") or "1000")
local hardware = os.getenv("BENCH_HARDWARE") or ""
local suffix = hardware == "" and "}" or string.format(',"hardware":"%s"}', hardware)
local types = { "quality", "speed" }
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"model_id":"bench-model-%06d","configuration_type":"%s","overrides":{"steps":%d,"denoise":%.3f}%s',
    math.random(0, models - 1), types[math.random(1, 2)], math.random(1, 4), math.random(), suffix)
  return wrk.format("POST", "/v1/resolve", { ["Content-Type"] = "application/json" }, body)
end
