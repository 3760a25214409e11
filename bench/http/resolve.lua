-- wrk script: POST /v1/resolve with a fixed body (MODEL from the environment).
local model = os.getenv("BENCH_MODEL") or "bench-model-000000"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model_id":"' .. model .. '","configuration_type":"quality","overrides":{"steps":28}}'
