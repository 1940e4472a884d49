#!/usr/bin/env bash
# bench/watch-idle.sh [SECONDS]     (as root, after `cargo build --release`)
#
# What an idle `nlsel deprecate --except ::2 --watch` costs: in a private namespace with a veth
# venet0 carrying 2001:db8::2/64, 2001:db8::beef/64 and 100 more addresses, starts
# target/release/nlsel, waits for its ready line (the first pass has deprecated 101 addresses),
# then, one second later, reads /proc/PID/stat (utime + stime, in clock ticks) and
# /proc/PID/status (VmRSS, VmHWM) before and after SECONDS (default 60) of idling, and counts the address notifications in the
# namespace meanwhile (`ip monitor address`: nlsel must send nothing). Prints the figures.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
bin=target/release/nlsel
[ "$(id -u)" -eq 0 ] || { echo "watch-idle.sh: needs root" >&2; exit 1; }
[ -x "$bin" ] || { echo "watch-idle.sh: $bin missing; run cargo build --release" >&2; exit 1; }

ns=nlsel-idle-$$
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
bench_netns "$ns"
{
  echo "addr add 2001:db8::2/64 dev venet0"
  echo "addr add 2001:db8::beef/64 dev venet0"
  for i in $(seq 100); do printf 'addr add 2001:db8::1:%x/64 dev venet0\n' "$i"; done
} | ip -n "$ns" -batch -

mkfifo "$dir/err"
"$bin" -n "$ns" deprecate --except ::2 --watch >/dev/null 2>"$dir/err" &
pid=$!
pids+=("$pid")
exec 4<"$dir/err"
IFS= read -r -t 20 -u 4 line
[ "$line" = "nlsel: watching for address changes" ] || { echo "unexpected: $line" >&2; exit 1; }

ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
ip -n "$ns" monitor address >"$dir/monitor" &
pids+=("$!")
# The loop's first turn reads the notifications of the first pass's own 101 changes: let it.
sleep 1
before=$(ticks)
sleep "$seconds"
after=$(ticks)
echo "idle ${seconds} s: $((after - before)) clock ticks of CPU (CLK_TCK $(getconf CLK_TCK)), total since start $after"
echo "VmRSS $(kib VmRSS) KiB, VmHWM (peak) $(kib VmHWM) KiB"
echo "address notifications meanwhile: $(grep -c . "$dir/monitor" || true)"
echo "wchan: $(cat "/proc/$pid/wchan"), state: $(awk '{ print $3 }' "/proc/$pid/stat")"
