-- wrk script: POST a fixed form (the sign-in form). BENCH_BODY is the
-- url-encoded body with its CSRF token, BENCH_COOKIE the CSRF cookie that
-- token belongs to, BENCH_ORIGIN the site's origin (checked like a browser's).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
