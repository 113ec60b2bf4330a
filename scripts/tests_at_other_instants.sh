#!/usr/bin/env bash
# The unit and API tests again, on SQLite, with the clock set (by libfaketime) to instants the
# run's own hour does not cover. The tests plan treatments from the real clock ("treated
# yesterday", "a zone where it is daytime"), so a test that holds only at some hours of the day, or
# only until a date written in it, passes or fails with the hour CI happens to start at. Here:
#   - 06:00 UTC tomorrow: before the reminder time in the Americas, after it in Asia;
#   - 23:59:30 UTC tomorrow: the UTC date changes while the tests run;
#   - 01:20 UTC on next year's last Sunday of March: Europe has just sprung forward, the United
#     States did two weeks before, and every date written in a test may be in the past.
# Every instant is ahead of the real clock: the files the tests write keep real modification times
# (Rust reads them with statx, which libfaketime leaves alone), and the photo sweeper compares those
# with the clock, so they must look older than "now", never newer.
# Arguments go to the test binaries (a filter such as `plans`).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v faketime >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq faketime >/dev/null; }

# The binaries themselves: cargo must not run under a faked clock (its freshness checks read it).
mapfile -t binaries < <(cargo test --lib --test api --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") and message["profile"]["test"]:
        print(message["executable"])')
[ "${#binaries[@]}" -eq 2 ] || { echo "expected the unit and API test binaries, found: ${binaries[*]}"; exit 1; }

tomorrow=$(date -u -d tomorrow +%F)
year=$(( $(date -u +%Y) + 1 ))
last_sunday_of_march=$(date -u -d "$year-04-01 -$(date -u -d "$year-04-01" +%u) days" +%F)
for instant in "$tomorrow 06:00:00" "$tomorrow 23:59:30" "$last_sunday_of_march 01:20:00"; do
  for binary in "${binaries[@]}"; do
    echo "== $(basename "$binary") with the clock at $instant UTC"
    # Timers (tokio's, the tests' deadlines) keep the real monotonic clock.
    FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "@$instant" "$binary" "$@"
  done
done
