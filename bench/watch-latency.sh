#!/usr/bin/env bash
# bench/watch-latency.sh [ROUNDS]     (as root, after `cargo build --release`)
#
# How quickly `nlsel deprecate --watch` deprecates a new address.
#
# Creates a private network namespace (the host's interfaces are never touched) with a veth
# `venet0` carrying 2001:db8::2/64, starts
#   target/release/nlsel -n NS deprecate --except ::2 --watch
# with stdout and stderr on two fifos, waits for its `nlsel: watching for address changes`
# line, then ROUNDS times (default 50), one at a time:
#   t0 = `date +%s%N`
#   ip -n NS addr add 2001:db8::1:$i/64 dev venet0
#   read watch's stdout (fifo) until the line `deprecated 2001:db8::1:$i/64 dev venet0`
#   t1 = `date +%s%N`
#
# The interval measured is t1 - t0: from the clock read of the `date` before `ip addr add` is
# started to the clock read of the `date` started right after the script has read nlsel's
# line. It includes: the exit of that first `date`, fork+exec of `ip`, the kernel adding the
# address and multicasting RTM_NEWADDR, nlsel waking from poll, its whole pass (dump links,
# dump addresses, plan, RTM_NEWADDR replace with preferred_lft 0, the kernel's ACK), writing
# its line (flushed at once), the script's read from the fifo, and the fork+exec of the second
# `date`. nlsel prints the line only after the kernel has acknowledged the change, so at t1 the
# deprecation is visible to anyone; the script checks that with `ip -j addr` after each round,
# outside the measured interval. The `ip addr add` runs concurrently with nlsel's reaction,
# so its own exit is not necessarily inside the interval; the two `date` forks are (~1 ms).
#
# A second row, "floor", measures the same two `date` forks around `ip addr add` alone, for
# ROUNDS addresses 2001:db8:1:$i::2/64 that --except ::2 keeps (nlsel reacts but changes and
# prints nothing): t1 is taken as soon as `ip` has exited. The difference between the rows is
# roughly what the watch itself adds; on a loaded machine the forks dominate both.
#
# Prints count, median, p90 (nearest rank), min and max in milliseconds for both rows, then
# kills nlsel and deletes the namespace (also on failure).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-50}
bin=target/release/nlsel
ready='nlsel: watching for address changes'

if [ "$(id -u)" -ne 0 ]; then
  echo "watch-latency.sh: needs root (network namespaces)" >&2
  exit 1
fi
if [ ! -x "$bin" ]; then
  echo "watch-latency.sh: $bin missing; run cargo build --release" >&2
  exit 1
fi

ns=nlsel-bench-$$
dir=$(mktemp -d)
watch_pid=

cleanup() {
  if [ -n "$watch_pid" ]; then
    kill -TERM "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

bench_netns "$ns"
ip -n "$ns" addr add 2001:db8::2/64 dev venet0

mkfifo "$dir/out" "$dir/err"
"$bin" -n "$ns" deprecate --except ::2 --watch >"$dir/out" 2>"$dir/err" &
watch_pid=$!
exec 3<"$dir/out" 4<"$dir/err"

# Reads lines from fd $1 until one equals $2; fails after 20 s without it (a hang guard only).
wait_for() {
  local fd=$1 want=$2 line
  while IFS= read -r -t 20 -u "$fd" line; do
    [ "$line" = "$want" ] && return 0
  done
  echo "watch-latency.sh: no line \"$want\" from nlsel" >&2
  return 1
}

wait_for 4 "$ready"

samples=()
for i in $(seq 1 "$rounds"); do
  addr=2001:db8::1:$i
  t0=$(date +%s%N)
  ip -n "$ns" addr add "$addr/64" dev venet0
  wait_for 3 "deprecated $addr/64 dev venet0"
  t1=$(date +%s%N)
  samples+=($((t1 - t0)))
  # Outside the interval: the kernel agrees that the address is deprecated.
  if ! ip -n "$ns" -j addr show dev venet0 |
    jq -e --arg a "$addr" '.[].addr_info[] | select(.local == $a)
      | select(.deprecated == true and .preferred_life_time == 0)' >/dev/null; then
    echo "watch-latency.sh: $addr is not deprecated according to ip" >&2
    exit 1
  fi
done

floor=()
for i in $(seq 1 "$rounds"); do
  t0=$(date +%s%N)
  ip -n "$ns" addr add "2001:db8:1:$i::2/64" dev venet0
  t1=$(date +%s%N)
  floor+=($((t1 - t0)))
done

# stats LABEL NANOSECONDS...
stats() {
  local label=$1
  shift
  printf '%s\n' "$@" | sort -n | awk -v label="$label" '
    { v[NR] = $1 }
    END {
      n = NR
      median = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      r = int(0.9 * n); if (r < 0.9 * n) r++
      printf "%-8s count %d  median %.3f ms  p90 %.3f ms  min %.3f ms  max %.3f ms\n",
        label, n, median / 1e6, v[r] / 1e6, v[1] / 1e6, v[n] / 1e6
    }'
}
stats watch "${samples[@]}"
stats floor "${floor[@]}"
