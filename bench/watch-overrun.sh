#!/usr/bin/env bash
# bench/watch-overrun.sh [FLOOD]     (as root, after `cargo build --release`)
#
# `nlsel deprecate --except ::2 --watch` when the kernel drops its notifications. In a private
# namespace (venet0, a veth, with 2001:db8::2/64 kept and 2001:db8::dead/64 deprecated), the
# watch is stopped (SIGSTOP); FLOOD (default 30,000) changes of the deprecated ::dead, which
# call for nothing, fill its receive buffer (8 MiB granted); 300 addresses are then added, whose
# notifications the kernel drops. After SIGCONT the watch reads the queue, meets ENOBUFS, and
# must read the whole state again: the script prints the drop count (the `Drops` column of
# /proc/PID/net/netlink), the time from SIGCONT until none of the 300 is preferred (polling
# `ip -j addr show`, so the figure includes that polling), how many are left preferred, and
# when nlsel wrote its last `deprecated` line (the modification time of its stdout file).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
flood=${1:-30000}
bin=target/release/nlsel
[ "$(id -u)" -eq 0 ] || { echo "watch-overrun.sh: needs root" >&2; exit 1; }
[ -x "$bin" ] || { echo "watch-overrun.sh: $bin missing; run cargo build --release" >&2; exit 1; }
ns=nlsel-overrun-$$
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && { kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
bench_netns "$ns"
ip -n "$ns" addr add 2001:db8::2/64 dev venet0
ip -n "$ns" addr add 2001:db8::dead/64 dev venet0 preferred_lft 0
mkfifo "$dir/err"
"$bin" -n "$ns" deprecate --except ::2 --watch >"$dir/out" 2>"$dir/err" &
pid=$!
exec 4<"$dir/err"
IFS= read -r -t 20 -u 4 line
[ "$line" = "nlsel: watching for address changes" ] || { echo "unexpected: $line" >&2; exit 1; }
preferred() {
  ip -n "$ns" -j addr show dev venet0 | python3 -c '
import json, sys
print(sum(1 for link in json.load(sys.stdin) for a in link.get("addr_info", [])
          if a.get("local", "").startswith("2001:db8:7::") and a.get("preferred_life_time") != 0))'
}
kill -STOP "$pid"
seq "$flood" | sed "s|.*|addr change 2001:db8::dead/64 dev venet0 preferred_lft 0|" | ip -n "$ns" -batch -
for i in $(seq 300); do printf 'addr add 2001:db8:7::1:%x/64 dev venet0\n' "$i"; done | ip -n "$ns" -batch -
drops=$(awk -v p="$pid" '$2 == 0 && $3 == p { print $9 }' "/proc/$pid/net/netlink")
echo "flood $flood, then 300 added; dropped by the kernel: $drops; preferred before SIGCONT: $(preferred)"
t0=$(date +%s%N)
kill -CONT "$pid"
left=$(preferred)
while [ "$left" -ne 0 ] && [ $(( $(date +%s%N) - t0 )) -lt 20000000000 ]; do left=$(preferred); done
echo "after SIGCONT: $left left preferred, after $(( ($(date +%s%N) - t0) / 1000000 )) ms (polling included); nlsel printed $(grep -c "^deprecated 2001:db8:7::" "$dir/out") deprecations, last line written $(( ($(date -r "$dir/out" +%s%N) - t0) / 1000000 )) ms after SIGCONT"
