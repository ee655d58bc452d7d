-- wrk script for the HTTP limit: every request is the POST the worker sends for one
-- image_generation/openai job (same path, Authorization header and JSON body).
-- Used by bench/limits.py:  wrk -t1 -c64 -d10s -s bench/limit/openai_images.lua http://127.0.0.1:PORT
wrk.method = "POST"
wrk.path = "/v1/images/generations"
wrk.headers["Authorization"] = "Bearer sk-bench-openai-key"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-image-1","prompt":"a lighthouse at dusk, oil painting"}'

-- Count non-2xx answers so a misconfigured run is visible rather than fast.
done = function(summary, latency, requests)
  io.write(string.format("non2xx=%d\n", summary.errors.status))
end
