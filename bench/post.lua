-- wrk script: sign-in POSTs. BENCH_BODIES holds one url-encoded form per
-- line (one per seeded account, each with the CSRF token), taken in turn;
-- BENCH_COOKIE is the CSRF cookie the token belongs to, BENCH_ORIGIN the
-- site's origin (checked like a browser's).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")

local bodies = {}
for line in string.gmatch(os.getenv("BENCH_BODIES") or "", "[^\n]+") do
  bodies[#bodies + 1] = line
end
local i = 0

request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
