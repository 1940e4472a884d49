#!/bin/bash
# bench/measure.sh OUTDIR CMD [ARG]...
# Runs CMD once as a whole process tree and writes one line to OUTDIR/time:
#   wall_us user_ms sys_ms maxrss_kib exit_status
# wall: bash's $EPOCHREALTIME around the command (microseconds, no extra fork);
# user/sys: bash's `time` keyword (getrusage of the waited children, ms resolution);
# maxrss: GNU /usr/bin/time %M (ru_maxrss of the children: the largest single process).
# /usr/bin/time itself is inside the measured window (about 1 ms of wall and well under
# 1 ms of CPU); the "floor" row of bench/compare.sh measures exactly that overhead.
# CMD's stdout and stderr go to OUTDIR/stdout and OUTDIR/stderr.
set -uo pipefail
out=$1
shift
TIMEFORMAT='%3U %3S'
rc=0
t0=$EPOCHREALTIME
{ time /usr/bin/time -q -f '%M %x' -o "$out/rss" "$@" >"$out/stdout" 2>"$out/stderr"; } 2>"$out/cpu" || rc=$?
t1=$EPOCHREALTIME
read -r user sys <"$out/cpu"
read -r rss status <"$out/rss"
wall_us=$(( 10#${t1//[.,]/} - 10#${t0//[.,]/} ))
user_ms=$(( 10#${user//[.,]/} ))
sys_ms=$(( 10#${sys//[.,]/} ))
echo "$wall_us $user_ms $sys_ms $rss $status" >"$out/time"
exit "$rc"
