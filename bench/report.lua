-- wrk script fragment: print one machine-readable line at the end.
-- RESULT <requests> <seconds> <p50 ms> <p99 ms> <max ms> <socket errors> <http 4xx/5xx>
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %.3f %d %d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
