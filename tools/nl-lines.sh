#!/usr/bin/env bash
# Counts the production lines of the trusted wire layer, src/nl, as issue 19 defines them: each
# file up to its first `#[cfg(test)]` (nl/mod.rs whole, since its test-only items are
# declarations), without blank lines and `//` comment lines (doc comments included), and
# without the test-only files (strategies.rs, replay.rs, captures.rs, objects.rs). Prints one
# line per file and the total; exits 1 when the total is over the budget.
#
#   tools/nl-lines.sh [BUDGET]      default budget: NLSEL_NL_BUDGET or 1900
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
budget=${1:-${NLSEL_NL_BUDGET:-1900}}
total=0
for file in src/nl/*.rs; do
  case ${file##*/} in strategies.rs | replay.rs | captures.rs | objects.rs) continue ;; esac
  lines=$(awk -v whole="$([ "${file##*/}" = mod.rs ] && echo 1 || echo 0)" '
    !whole && /^[[:space:]]*#\[cfg\(test\)\]/ { exit }
    /^[[:space:]]*$/ || /^[[:space:]]*\/\// { next }
    { n++ }
    END { print n + 0 }' "$file")
  printf '%6d  %s\n' "$lines" "$file"
  total=$((total + lines))
done
printf '%6d  total (budget %d)\n' "$total" "$budget"
if [ "$total" -gt "$budget" ]; then
  echo "error: src/nl has $total production lines, over its budget of $budget" >&2
  exit 1
fi
