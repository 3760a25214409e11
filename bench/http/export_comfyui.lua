-- wrk script: POST /v1/resolve?format=comfyui (the ComfyUI API prompt of a
-- model's quality configuration), MODEL from the environment. The URL given to
-- wrk carries the query string.
local model = os.getenv("BENCH_MODEL") or "bench-model-000000"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model_id":"' .. model .. '","configuration_type":"quality","export":{"prompt":"a lighthouse at dusk","seed":7}}'
