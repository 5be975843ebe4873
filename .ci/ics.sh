#!/usr/bin/env bash
# The tasks calendar feed, parsed by Python's `icalendar` (a second, real
# RFC 5545 parser beside the Rust tests' one):
#   .ci/ics.sh BINARY DATABASE_URL
# Starts BINARY (.ci/serve.sh), signs up with curl, sets the time zone to
# Europe/Berlin, makes a project with a timed and an all-day task whose
# titles need escaping, makes a calendar address, fetches the .ics, and
# parses it with icalendar installed in a throwaway venv; checks the two
# events, their times and titles.
set -euo pipefail

. "$(dirname "$0")/serve.sh" "$@"
jar="$work/cookies"

fail() { echo "ICS FAIL: $*" >&2; exit 1; }
c() { curl -sS -b "$jar" -c "$jar" -H "Origin: $base" "$@"; }
token_of() {
  c "$base$1" -o "$work/page"
  sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$work/page" | head -n 1
}
location() { c -o /dev/null -w '%{redirect_url}' "$@"; }

user="ics$RANDOM$RANDOM"
token=$(token_of /signup)
to=$(location --data-urlencode "csrf_token=$token" --data-urlencode "username=$user" \
  --data-urlencode "email=$user@example.org" --data-urlencode "password=ics test $RANDOM correct horse" \
  "$base/signup")
[[ $to == */profile ]] || fail "sign-up did not redirect to /profile ($to)"
token=$(token_of /profile)
location --data-urlencode "csrf_token=$token" --data-urlencode "time_zone=Europe/Berlin" \
  "$base/account/time-zone" >/dev/null
token=$(token_of /tasks)
to=$(location --data-urlencode "csrf_token=$token" --data-urlencode "name=Home, garden; more" "$base/tasks")
project=${to##*/tasks/}
[[ $project =~ ^[0-9]+$ ]] || fail "no project made ($to)"
uid=$(sed -n 's/.*<option value="\([0-9]*\)">'"$user"'<.*/\1/p' <(c "$base/tasks/$project/items/new") | head -n 1)
for task in "Buy milk, eggs; bread \\ more|2027-07-01|09:30" "Holiday|2027-12-31|"; do
  IFS='|' read -r title date time <<<"$task"
  token=$(token_of "/tasks/$project/items/new")
  location --data-urlencode "csrf_token=$token" --data-urlencode "title=$title" \
    --data-urlencode "due_date=$date" --data-urlencode "due_time=$time" \
    --data-urlencode "assignee=$uid" "$base/tasks/$project/items" >/dev/null
done
token=$(token_of /tasks/preferences)
c --data-urlencode "csrf_token=$token" "$base/tasks/preferences/calendar" -o "$work/page"
path=$(grep -o '/tasks/calendar/[A-Za-z0-9_-]*\.ics' "$work/page" | head -n 1)
[ -n "$path" ] || fail "no calendar address shown"
curl -fsS "$base$path" -o "$work/feed.ics" || fail "GET the feed failed"
echo "  - fetched $(wc -c <"$work/feed.ics") bytes from the feed"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q icalendar
"$work/venv/bin/python" - "$work/feed.ics" <<'PY'
import sys
from datetime import date, datetime, timezone
import icalendar

raw = open(sys.argv[1], "rb").read()
assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings"
assert all(len(l) <= 75 for l in raw.split(b"\r\n")), "lines folded at 75 octets"
cal = icalendar.Calendar.from_ical(raw)
events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
assert set(events) == {"Buy milk, eggs; bread \\ more", "Holiday"}, events.keys()
timed = events["Buy milk, eggs; bread \\ more"]["DTSTART"].dt
assert timed == datetime(2027, 7, 1, 7, 30, tzinfo=timezone.utc), timed
assert events["Holiday"]["DTSTART"].dt == date(2027, 12, 31)
for e in events.values():
    assert e.get("UID") and e.get("DTSTAMP"), "UID and DTSTAMP"
print("  - icalendar parsed the feed: 2 events, times and escaping right")
PY
echo "ics: passed"
