-- wrk script: GET with an optional Cookie header (BENCH_COOKIE), e.g. a
-- session cookie for a signed-in page.
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
