#!/usr/bin/env bash
# bench/compare.sh: nlsel against the recipe it replaces (issue 5).
#
# Run as root from the repo root:
#   bash bench/compare.sh                              # N = 3 100 1000 10000, 5 runs (1 for 10000)
#   NS_LIST="3 100" RUNS=3 bash bench/compare.sh       # a quick look
#
# Environment:
#   NS_LIST   numbers N of extra addresses (default "3 100 1000 10000")
#   RUNS      runs per N (default 5); an N >= BIG_N (10000) gets BIG_RUNS (default 1)
#   NATIVE    1 (default): also time `nlsel -n NS ...` started from the host; 0 skips it
#   MUSL      1 (default): build the static musl binary, report its size, and time that
#             binary, the one that ships; 0 times the glibc release build instead
#   OUT       the Markdown report (default bench/RESULTS.md)
#   RAW_IN    re-render only: take the runs from the raw block of an earlier report (no runs)
#   SOURCE_LABEL  what source tree this is, for the report (default: git HEAD and dirty count)
#
# Needs ip (iproute2), jq, GNU time at /usr/bin/time, cargo. It installs nothing: a missing
# tool is reported with the Debian package to install, and the script exits 1. It never
# touches the host's interfaces: every run gets fresh network namespaces, removed at exit.
#
# Each run builds, untimed, a FRESH namespace per case that carries the seed's venet0:
# a veth pair venet0/venet0p (both up; accept_dad=0 set before the links exist, so nothing
# is tentative), with ::2/128, 2001:db8:f1c1:8454:964::2/80, ::beef/80 and N extra global
# addresses 2001:db8:f1c1:8454:964::1:XXXX/80 (XXXX = 1000+i in hex, never ending in :1
# or :2, so the seed's text filter and nlsel's `--except ::2` make the same plan: deprecate
# ::beef and the N extras, N+1 changes in all), added with one `ip -n NS -batch`.
#
# Cases, each timed as whole processes:
#   seed      the blog's network-preferredlft.sh (bench/seed-recipe.sh): ip -j | jq | sh,
#             one `ip addr change` process per address
#   ip-batch  the same plan through one `ip -batch FILE` (FILE made beforehand, untimed)
#   nlsel-1   nlsel deprecate --except ::2 (first run: N+1 changes)
#   nlsel-2   the same again in the same namespace (nothing to do)
#   floor     /usr/bin/time true: what the harness itself costs
#   nlsel-n-1/-2  (NATIVE=1) `nlsel -n NS deprecate --except ::2` started from the host,
#             so nlsel's own setns is inside the clock; not used for the ratios
#
# Fairness of the namespace entry: ALL cases are started through `ip netns exec NS`, and the
# clock (bench/measure.sh) starts INSIDE the namespace, so no case pays the entry cost
# (`ip netns exec` unshares a mount namespace and remounts /sys: several ms of overhead
# that the real recipe, run by systemd on the VPS itself, never pays). That is why
# nlsel runs there without -n; the nlsel-n rows show what -n adds.
#
# After every timed run the work is checked with `ip -n NS -j addr show | jq`: exactly N+1
# deprecated global addresses on venet0 and both ::2 addresses still preferred (and before
# it: none deprecated). Any mismatch stops the script with exit 1.
set -euo pipefail

NS_LIST=${NS_LIST:-"3 100 1000 10000"}
RUNS=${RUNS:-5}
BIG_N=${BIG_N:-10000}
BIG_RUNS=${BIG_RUNS:-1}
NATIVE=${NATIVE:-1}
MUSL=${MUSL:-1}
OUT=${OUT:-bench/RESULTS.md}
COMMAND="NS_LIST=\"$NS_LIST\" RUNS=$RUNS BIG_RUNS=$BIG_RUNS NATIVE=$NATIVE MUSL=$MUSL bash bench/compare.sh"

IFACE=venet0
PREFIX=2001:db8:f1c1:8454:964
MUSL_TARGET=x86_64-unknown-linux-musl

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

# ---- preconditions ------------------------------------------------------------------------
[ -f Cargo.toml ] && [ -f bench/compare.sh ] || die "run me from the repo root: bash bench/compare.sh"
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces)"
need() { command -v "$1" >/dev/null 2>&1 || die "missing $1: install it with: apt-get install -y $2"; }
need ip iproute2
need jq jq
need cargo "rustup (https://rustup.rs) or cargo"
[ -x /usr/bin/time ] || die "missing /usr/bin/time (GNU time): install it with: apt-get install -y time"
for n in $NS_LIST; do [[ $n =~ ^[0-9]+$ ]] || die "NS_LIST: \"$n\" is not a number"; done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS: \"$RUNS\" is not a positive number"

ROOT=$PWD
WORK=$(mktemp -d /tmp/nlsel-bench.XXXXXX)
NAMESPACES=()
cleanup() {
  local ns
  for ns in "${NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- build --------------------------------------------------------------------------------
log "cargo build --release"
cargo build --release --quiet
# A snapshot, so that a rebuild by someone else during a long bench cannot swap the binary.
NLSEL=$WORK/nlsel
cp target/release/nlsel "$NLSEL"
NLSEL_SHA=$(sha256sum "$NLSEL" | cut -c1-16)
GLIBC_SIZE=$(stat -c %s target/release/nlsel)
NLSEL_KIND="glibc, $GLIBC_SIZE B"

MUSL_SIZE=""
MUSL_STATIC=""
if [ "$MUSL" = 1 ]; then
  log "rustup target add $MUSL_TARGET; cargo build --release --target $MUSL_TARGET"
  rustup target add "$MUSL_TARGET" >/dev/null 2>&1
  cargo build --release --quiet --target "$MUSL_TARGET"
  MUSL_SIZE=$(stat -c %s "target/$MUSL_TARGET/release/nlsel")
  # The static binary is what ships, so it is the one timed.
  cp "target/$MUSL_TARGET/release/nlsel" "$NLSEL"
  NLSEL_SHA=$(sha256sum "$NLSEL" | cut -c1-16)
  NLSEL_KIND="static musl, $MUSL_SIZE B"
  if readelf -d "target/$MUSL_TARGET/release/nlsel" 2>/dev/null | grep -q NEEDED; then
    MUSL_STATIC="dynamically linked"
  else
    MUSL_STATIC="static, no NEEDED entries"
  fi
fi

# ---- namespaces ---------------------------------------------------------------------------
NS_SEQ=0
new_ns() { # new_ns N: sets NS to the name of a fresh namespace with the seed's venet0
  local n=$1 ns
  NS_SEQ=$((NS_SEQ + 1))
  ns="nlbench-$$-$NS_SEQ"
  NAMESPACES+=("$ns")
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link add "$IFACE" type veth peer name "${IFACE}p"
  ip -n "$ns" link set "$IFACE" up
  ip -n "$ns" link set "${IFACE}p" up
  ip -n "$ns" -batch "$WORK/add-$n.batch"
  NS=$ns
}

drop_ns() { # deletes the link first, so the kernel's address teardown ends before timing goes on
  ip -n "$1" link del "$IFACE" 2>/dev/null || true
  ip netns del "$1"
}

make_add_batch() { # the untimed setup: seed addresses, then N extras
  local n=$1 i
  {
    echo "addr add ::2/128 dev $IFACE"
    echo "addr add $PREFIX::2/80 dev $IFACE"
    echo "addr add $PREFIX::beef/80 dev $IFACE"
    for ((i = 0; i < n; i++)); do
      printf 'addr add %s::1:%x/80 dev %s\n' "$PREFIX" $((0x1000 + i)) "$IFACE"
    done
  } >"$WORK/add-$n.batch"
}

globals_json() { ip -n "$1" -j addr show dev "$IFACE" | jq -c '[.[].addr_info[] | select(.family=="inet6" and .scope=="global")]'; }

# check NS N EXPECTED_DEPRECATED WHAT
check() {
  local ns=$1 n=$2 want=$3 what=$4 json total dep kept
  json=$(globals_json "$ns")
  total=$(jq 'length' <<<"$json")
  dep=$(jq '[.[] | select(.preferred_life_time == 0)] | length' <<<"$json")
  kept=$(jq --arg a "$PREFIX::2" '[.[] | select((.local == $a or .local == "::2") and .preferred_life_time != 0)] | length' <<<"$json")
  if [ "$total" -ne $((n + 3)) ] || [ "$dep" -ne "$want" ] || [ "$kept" -ne 2 ]; then
    die "CHECK FAILED after $what (N=$n, $ns): $total global addresses (want $((n + 3))), $dep deprecated (want $want), $kept of the two ::2 addresses preferred (want 2)"
  fi
}

RAW=$WORK/raw.tsv
: >"$RAW"
if [ -n "${RAW_IN:-}" ]; then # re-render: take the runs from an earlier report's raw block
  awk -F'\t' 'NF == 7 && $1 ~ /^[0-9]+$/' "$RAW_IN" >"$RAW"
  [ -s "$RAW" ] || die "RAW_IN: no raw runs in $RAW_IN"
fi
# measure N CASE RUN NS_OR_HOST CMD... : runs CMD under bench/measure.sh, inside the namespace
# (through ip netns exec) unless NS_OR_HOST is "host"; appends to raw.tsv; leaves the
# command's stdout in $WORK/m/stdout.
measure() {
  local n=$1 case=$2 run=$3 where=$4 rc=0
  shift 4
  rm -rf "$WORK/m" && mkdir -p "$WORK/m"
  if [ "$where" = host ]; then
    bash "$ROOT/bench/measure.sh" "$WORK/m" "$@" || rc=$?
  else
    ip netns exec "$where" bash "$ROOT/bench/measure.sh" "$WORK/m" "$@" || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    cat "$WORK/m/stderr" >&2 || true
    die "$case (N=$n run $run) exited with status $rc"
  fi
  local wall user sys rss status
  read -r wall user sys rss status <"$WORK/m/time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$case" "$run" "$wall" "$user" "$sys" "$rss" >>"$RAW"
  log "  N=$n run $run $case: wall $((wall / 1000)).$(printf '%03d' $((wall % 1000))) ms, user $user ms, sys $sys ms, maxrss $rss KiB"
}

lines() { if [ -s "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# ---- warm-up: page cache and dynamic loader, untimed ----------------------------------------
jq --version >/dev/null; ip -V >/dev/null; "$NLSEL" --version >/dev/null; /usr/bin/time -q -o /dev/null true

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
[ -n "${RAW_IN:-}" ] && NS_LIST_RUN="" || NS_LIST_RUN=$NS_LIST
for n in $NS_LIST_RUN; do
  make_add_batch "$n"
  runs=$RUNS
  [ "$n" -ge "$BIG_N" ] && runs=$BIG_RUNS
  for ((r = 1; r <= runs; r++)); do
    log "N=$n run $r/$runs"

    new_ns "$n"; ns=$NS; check "$ns" "$n" 0 "setup"
    measure "$n" floor "$r" "$ns" true
    measure "$n" seed "$r" "$ns" env IFACE="$IFACE" bash "$ROOT/bench/seed-recipe.sh"
    check "$ns" "$n" $((n + 1)) "seed recipe"
    drop_ns "$ns"

    new_ns "$n"; ns=$NS; check "$ns" "$n" 0 "setup"
    # The plan, made the seed's way but beforehand and untimed.
    ip -n "$ns" -j addr show dev "$IFACE" | IFACE=$IFACE jq -r '
      .[] | select(.addr_info) | .addr_info[] |
      select(.family=="inet6" and .scope=="global") |
      select(.local | (endswith(":1") or endswith(":2")) | not) |
      "addr change "+.local+"/"+(.prefixlen|tostring)+" dev "+env.IFACE+" preferred_lft 0"' \
      >"$WORK/change.batch"
    [ "$(lines "$WORK/change.batch")" -eq $((n + 1)) ] || die "ip-batch plan has $(lines "$WORK/change.batch") lines, want $((n + 1))"
    measure "$n" ip-batch "$r" "$ns" ip -batch "$WORK/change.batch"
    check "$ns" "$n" $((n + 1)) "ip -batch"
    drop_ns "$ns"

    new_ns "$n"; ns=$NS; check "$ns" "$n" 0 "setup"
    measure "$n" nlsel-1 "$r" "$ns" "$NLSEL" deprecate --except ::2
    check "$ns" "$n" $((n + 1)) "nlsel first run"
    [ "$(lines "$WORK/m/stdout")" -eq $((n + 1)) ] || die "nlsel first run printed $(lines "$WORK/m/stdout") lines, want $((n + 1))"
    measure "$n" nlsel-2 "$r" "$ns" "$NLSEL" deprecate --except ::2
    check "$ns" "$n" $((n + 1)) "nlsel second run"
    [ "$(lines "$WORK/m/stdout")" -eq 0 ] || die "nlsel second run printed $(lines "$WORK/m/stdout") lines, want none"
    drop_ns "$ns"

    if [ "$NATIVE" = 1 ]; then
      new_ns "$n"; ns=$NS; check "$ns" "$n" 0 "setup"
      measure "$n" nlsel-n-1 "$r" host "$NLSEL" -n "$ns" deprecate --except ::2
      check "$ns" "$n" $((n + 1)) "nlsel -n first run"
      measure "$n" nlsel-n-2 "$r" host "$NLSEL" -n "$ns" deprecate --except ::2
      check "$ns" "$n" $((n + 1)) "nlsel -n second run"
      [ "$(lines "$WORK/m/stdout")" -eq 0 ] || die "nlsel -n second run printed output, want none"
      drop_ns "$ns"
    fi
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- statistics ---------------------------------------------------------------------------
# median COLUMN N CASE  (columns: 4 wall_us, 5 user_ms, 6 sys_ms)
median() {
  awk -F'\t' -v c="$1" -v n="$2" -v k="$3" '$1 == n && $2 == k { print $c }' "$RAW" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
peak() { awk -F'\t' -v n="$1" -v k="$2" '$1 == n && $2 == k && $7 > m { m = $7 } END { print m + 0 }' "$RAW"; }
count() { awk -F'\t' -v n="$1" -v k="$2" '$1 == n && $2 == k' "$RAW" | wc -l; }
ms() { awk -v v="$1" 'BEGIN { printf (v < 1000000 ? "%.2f" : "%.0f"), v / 1000 }'; }  # µs -> ms text
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
verdict() { if "$@"; then echo "**met**"; else echo "**MISSED**"; fi; }

CASES="seed ip-batch nlsel-1 nlsel-2 floor"
[ "$NATIVE" = 1 ] && CASES="$CASES nlsel-n-1 nlsel-n-2"
label() {
  case $1 in
    seed) echo "seed recipe (ip -j, jq, sh: 1 ip per address)" ;;
    ip-batch) echo "ip -batch FILE" ;;
    nlsel-1) echo "nlsel deprecate --except ::2 (1st)" ;;
    nlsel-2) echo "nlsel deprecate --except ::2 (2nd, nothing to do)" ;;
    floor) echo "harness floor: /usr/bin/time true" ;;
    nlsel-n-1) echo "nlsel -n NS … from the host (1st)" ;;
    nlsel-n-2) echo "nlsel -n NS … from the host (2nd)" ;;
  esac
}

TABLE=$WORK/table.md
{
  echo "| N | case | runs | wall ms (median) | user ms (median) | sys ms (median) | peak RSS KiB |"
  echo "|---:|---|---:|---:|---:|---:|---:|"
  for n in $NS_LIST; do
    for c in $CASES; do
      [ "$(count "$n" "$c")" -gt 0 ] || continue
      printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(label "$c")" "$(count "$n" "$c")" \
        "$(ms "$(median 4 "$n" "$c")")" "$(median 5 "$n" "$c")" "$(median 6 "$n" "$c")" "$(peak "$n" "$c")"
    done
  done
  echo
  echo "| N | nlsel / ip-batch (wall) | nlsel / ip-batch (sys) | seed / nlsel (wall) | seed / nlsel -n (wall) | nlsel user / (user+sys) | nlsel 2nd run wall ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for n in $NS_LIST; do
    w_seed=$(median 4 "$n" seed); w_ip=$(median 4 "$n" ip-batch); w_nl=$(median 4 "$n" nlsel-1)
    s_ip=$(median 6 "$n" ip-batch)
    u=$(median 5 "$n" nlsel-1); s=$(median 6 "$n" nlsel-1)
    native="n/a"; [ "$NATIVE" = 1 ] && native=$(div "$w_seed" "$(median 4 "$n" nlsel-n-1)")
    share=$(awk -v u="$u" -v s="$s" 'BEGIN { if (u + s == 0) print "n/a"; else printf "%.1f %%", 100 * u / (u + s) }')
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$(div "$w_nl" "$w_ip")" "$(div "$s" "$s_ip")" "$(div "$w_seed" "$w_nl")" \
      "$native" "$share" "$(ms "$(median 4 "$n" nlsel-2)")"
  done
} >"$TABLE"

# ---- targets ------------------------------------------------------------------------------
has() { case " $NS_LIST " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
TARGETS=$WORK/targets.md
{
  echo "| target | figure | verdict |"
  echo "|---|---|---|"
  if has 3; then
    r=$(div "$(median 4 3 seed)" "$(median 4 3 nlsel-1)")
    echo "| N=3: nlsel ≥ 30× faster than the seed recipe | seed/nlsel = ${r}× | $(verdict le 30 "$r") |"
  else echo "| N=3: nlsel ≥ 30× faster than the seed recipe | not measured | – |"; fi
  for n in 1000 10000; do
    if has "$n"; then
      r=$(div "$(median 4 "$n" nlsel-1)" "$(median 4 "$n" ip-batch)")
      u=$(median 5 "$n" nlsel-1); s=$(median 6 "$n" nlsel-1)
      p=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", (u + s) ? 100 * u / (u + s) : 0 }')
      echo "| N=$n: nlsel wall ≤ 1.00× ip-batch | ${r}× | $(verdict le "$r" 1.00) |"
      echo "| N=$n: nlsel user < 2 % of user+sys | ${u} ms of $((u + s)) ms = ${p} % | $(verdict lt "$p" 2) |"
    else
      echo "| N=$n: nlsel wall ≤ 1.00× ip-batch, user < 2 % | not measured | – |"
    fi
  done
  if has 10000; then
    w=$(median 4 10000 nlsel-2)
    echo "| N=10000: nothing-to-do run ≤ 30 ms | $(ms "$w") ms | $(verdict le "$w" 30000) |"
    rss=$(peak 10000 nlsel-1); rss2=$(peak 10000 nlsel-2); [ "$rss2" -gt "$rss" ] && rss=$rss2
    echo "| N=10000: nlsel peak RSS ≤ 4 MiB (4096 KiB) | $rss KiB | $(verdict le "$rss" 4096) |"
  else
    echo "| N=10000: nothing-to-do ≤ 30 ms, peak RSS ≤ 4 MiB | not measured | – |"
  fi
  if [ -n "$MUSL_SIZE" ]; then
    echo "| stripped static musl binary ≤ 450 KiB (460800 B) | $MUSL_SIZE B = $(awk -v b="$MUSL_SIZE" 'BEGIN { printf "%.1f", b / 1024 }') KiB | $(verdict le "$MUSL_SIZE" 460800) |"
  else
    echo "| stripped static musl binary ≤ 450 KiB | not measured | – |"
  fi
} >"$TARGETS"

# ---- report -------------------------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
if [ -n "${SOURCE_LABEL:-}" ]; then
  SOURCE=$SOURCE_LABEL
elif GIT=$(git rev-parse --short HEAD 2>/dev/null); then
  SOURCE="git $GIT ($(git status --porcelain -- src Cargo.toml Cargo.lock | wc -l) uncommitted changes under src/, Cargo.*)"
else
  SOURCE="unknown source"
fi
{
  echo "# nlsel benchmark: seed recipe vs ip -batch vs nlsel"
  echo
  echo "Made by \`bench/compare.sh\` (issue 5). Command, as root from the repo root:"
  echo
  echo '```'
  echo "$COMMAND"
  echo '```'
  echo
  echo "## Machine"
  echo
  if [ -n "${RAW_IN:-}" ]; then # the runs' own date and load, not the re-render's
    grep -E '^- (date|load average)' "$RAW_IN" || true
    echo "- (re-rendered from the raw runs of that report by $COMMAND RAW_IN=...)"
  else
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER"
  fi
  echo "- nproc: $(nproc); CPU: $CPU"
  echo "- kernel: $(uname -r)"
  echo "- $(ip -V); $(jq --version); $(bash --version | head -1 | sed 's/ (.*//'); $(rustc -V)"
  echo "- nlsel: $SOURCE, timed binary sha256 $NLSEL_SHA… ($NLSEL_KIND)"
  echo
  echo "## Results"
  echo
  echo "Median over the runs; peak RSS is the largest ru_maxrss over the runs (for the seed recipe:"
  echo "its largest single process, jq or ip). All cases start through \`ip netns exec NS\` with the"
  echo "clock inside the namespace, so none pays the namespace entry; the \`nlsel -n\` rows start"
  echo "from the host, with nlsel's own setns inside the clock. Each timed run used a fresh"
  echo "namespace (nlsel's 2nd run reuses the 1st run's). Ratios use the medians."
  echo
  cat "$TABLE"
  echo
  echo "## Targets"
  echo
  cat "$TARGETS"
  echo
  echo "## Raw runs (wall µs, user ms, sys ms, maxrss KiB)"
  echo
  echo '```'
  printf 'N\tcase\trun\twall_us\tuser_ms\tsys_ms\tmaxrss_kib\n'
  cat "$RAW"
  echo '```'
} >"$OUT"

cat "$TABLE"
echo
cat "$TARGETS"
log "written to $OUT"
