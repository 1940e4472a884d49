#!/usr/bin/env bash
# The project's test command: `cargo test` with its arguments, then how many tests skipped and
# why. libtest counts a skipped test as passed (it returned), so the count comes from the lines
# that tests/common's `skip` appends to NLSEL_SKIP_LOG. Under CI=true nothing skips: a test that
# cannot set up fails. Exits with cargo test's status.
#
#   tools/test.sh [CARGO TEST ARGS...]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NLSEL_SKIP_LOG=$(mktemp)
export NLSEL_SKIP_LOG
trap 'rm -f "$NLSEL_SKIP_LOG"' EXIT
cargo test "$@"
status=$?
skipped=$(wc -l <"$NLSEL_SKIP_LOG")
echo "skipped: $skipped tests (counted as passed above)"
if [ "$skipped" -gt 0 ]; then
  # One line per reason, most frequent first.
  sed 's/^skipped [^:]*: //' "$NLSEL_SKIP_LOG" | sort | uniq -c | sort -rn
fi
exit "$status"
