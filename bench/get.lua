-- wrk script: GET with an optional Cookie header (BENCH_COOKIE), e.g. a
-- session cookie for a signed-in page, and the Accept header a browser
-- sends for a page (wrk sends none; pages that share their path with an API
-- route are told apart by it, as for a browser).
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
