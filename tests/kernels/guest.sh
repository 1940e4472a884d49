#!/bin/bash
# The guest half of tests/kernels/run.sh: installed as /test.sh in a Debian root and started by
# the kernel as init (init=/test.sh). It mounts what init would, loads the drivers, runs each
# check in a child of its own (`/test.sh check NAME`, under `timeout`), prints one line per
# check, then `KCHECK done`, and powers the machine off.
#
#   KCHECK kernel UNAME-R
#   KCHECK ok NAME
#   KCHECK FAILED NAME: DETAIL          (the check's own output precedes it, as "  | " lines)
#   KCHECK done
#
# Every check works in network namespaces it creates, with iproute2 of the guest's Debian
# release as the oracle (`ip -j addr show`, `ip -6 route get`) and, for source addresses, an
# unbound UDP socket's connect()+getsockname() (perl-base, which every Debian root has).
# Expectations are derived from the setup, never copied from nlsel's output.
# shellcheck disable=SC2015,SC2016 # A && B || fail is meant; jq and perl programs are single-quoted
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

NLSEL=/usr/local/bin/nlsel
# The seed recipe's addresses (shared/seeds/000_551469b0a30cf408.txt) and the host it pings.
P=2001:db8:f1c1:8454:964
SEED2=$P::2
BEEF=$P::beef
LOW2=::2
DEST=2001:db8:9f16:8fc7::9
FOREVER=4294967295
# Seconds each check may take, and each poll for a state.
CHECK_TIMEOUT=${KCHECK_TIMEOUT:-300}
DEADLINE=60

CHECKS=(seed-veth seed-tun show-parity which-explain check-exit watch-readd race-churn)

fail() { # the reason, on one line: the last line of a check's output is its KCHECK detail
  local reason="$*"
  echo "${reason//$'\n'/ / }"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# helpers
#
# Under TCG every process start is dear, and jq 1.6, which compiles its builtins each time it
# starts, costs about fifteen times a run of the static nlsel. So polls read `ip -o` text, and
# each check gathers its `ip -j` documents in files and judges them in one jq run.
# ---------------------------------------------------------------------------------------------

# new_ns NAME: a namespace with lo up and duplicate address detection off (as tests/common does).
new_ns() {
  ip netns add "$1" || fail "ip netns add $1"
  ip netns exec "$1" sh -c 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad &&
    echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad' || fail "$1: cannot turn DAD off"
  ip -n "$1" link set lo up || fail "$1: lo up"
}

# addr_line NS ADDR: the IPv6 address's line of `ip -o addr show` (flags and lifetimes), or nothing.
addr_line() {
  ip -n "$1" -o addr show to "$2/128"
}

is_deprecated() { # is_deprecated NS ADDR
  [[ $(addr_line "$1" "$2") == *" preferred_lft 0sec"* ]]
}

settled() { # settled NS: no address is tentative
  ! ip -n "$1" -o addr show | grep -q ' tentative'
}

has_carrier() { # has_carrier NS DEV
  ip -n "$1" link show dev "$2" | grep -q '[<,]LOWER_UP[,>]'
}

# route_json NS DEST...: `ip -j route get DEST` for each DEST, one document a line, in order
# (one ip process for all of them).
route_json() {
  local ns=$1
  shift
  printf 'route get %s\n' "$@" | ip -n "$ns" -j -batch -
}

# socket_srcs NS DEST...: for each IPv6 DEST, the source an unbound UDP socket gets from
# connect(), one a line.
socket_srcs() {
  local ns=$1
  shift
  ip netns exec "$ns" perl -MSocket=AF_INET6,SOCK_DGRAM,inet_pton,inet_ntop,pack_sockaddr_in6,unpack_sockaddr_in6 -e '
    for my $d (@ARGV) {
      socket(my $s, AF_INET6, SOCK_DGRAM, 0) or die "socket: $!\n";
      connect($s, pack_sockaddr_in6(9, inet_pton(AF_INET6, $d))) or die "connect $d: $!\n";
      my (undef, $a) = unpack_sockaddr_in6(getsockname($s));
      print inet_ntop(AF_INET6, $a), "\n";
    }' "$@"
}

# judge JQ-ARGUMENTS...: runs `jq -n -r`, whose program prints one line per problem found;
# the check fails with those lines.
judge() {
  local problems
  problems=$(jq -n -r "$@" 2>&1) || fail "jq failed: $problems"
  [ -z "$problems" ] || fail "$problems"
}

# eventually SECONDS COMMAND...: polls COMMAND until it succeeds; the last try's status.
eventually() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# hold_tun NS DEV: keeps the tun DEV open (TUNSETIFF, IFF_TUN|IFF_NO_PI) so that it has a
# carrier, as OpenVZ's venet0 always has; killed when the check ends.
holders=()
hold_tun() {
  ip netns exec "$1" perl -e '
    open(my $t, "+<", "/dev/net/tun") or die "open /dev/net/tun: $!\n";
    ioctl($t, 0x400454ca, pack("Z16 s x22", $ARGV[0], 0x1001)) or die "TUNSETIFF: $!\n";
    sleep;' "$2" </dev/null >/dev/null 2>&1 &
  holders+=("$!")
}
# shellcheck disable=SC2154 # p is the loop variable, expanded when the trap runs
trap 'for p in "${holders[@]}"; do kill "$p" 2>/dev/null; done' EXIT

# seed_ns NS KIND: the seed's venet0 (a veth, or a tun held open) with its addresses in the
# seed's order, the IPv4 address and both default routes.
seed_ns() {
  local ns=$1 kind=$2
  new_ns "$ns"
  case $kind in
    veth)
      ip -n "$ns" link add venet0 type veth peer name venet0p || fail "veth"
      ip -n "$ns" link set venet0p up || fail "venet0p up"
      ;;
    tun)
      ip -n "$ns" tuntap add dev venet0 mode tun || fail "ip tuntap add"
      hold_tun "$ns" venet0
      ;;
  esac
  ip -n "$ns" link set venet0 up || fail "venet0 up"
  eventually "$DEADLINE" has_carrier "$ns" venet0 || fail "venet0 has no carrier: $(ip -n "$ns" link show venet0)"
  if [ "$kind" = tun ]; then
    local link
    link=$(ip -n "$ns" link show venet0)
    [[ $link == *POINTOPOINT*NOARP* && $link == *"link/none"* ]] || fail "the tun is not venet-like: $link"
  fi
  ip -n "$ns" addr add 192.0.2.30/32 dev venet0 label venet0:0 || fail "addr add v4"
  for a in "$LOW2/128" "$SEED2/80" "$BEEF/80"; do
    ip -n "$ns" addr add "$a" dev venet0 || fail "addr add $a"
  done
  ip -n "$ns" route add default dev venet0 || fail "v4 default route"
  ip -n "$ns" -6 route add default dev venet0 || fail "v6 default route"
  eventually "$DEADLINE" settled "$ns" || fail "addresses stay tentative: $(ip -n "$ns" addr show)"
}

# ---------------------------------------------------------------------------------------------
# the checks
# ---------------------------------------------------------------------------------------------

# The seed scenario: only ::beef is deprecated (preferred_lft 0, the rest of it unchanged), the
# ::2 addresses are untouched, and the seed's destination is then reached from ::2.
seed_check() {
  local kind=$1 ns=s$1
  seed_ns "$ns" "$kind"
  ip -n "$ns" -j addr show dev venet0 >/tmp/seed.before || fail "ip -j addr show"
  route_json "$ns" "$DEST" >/tmp/seed.route-before || fail "ip route get $DEST"
  local out rc sock
  out=$($NLSEL -n "$ns" deprecate --except "$LOW2" 2>&1)
  rc=$?
  [ "$rc" = 0 ] || fail "nlsel deprecate exited $rc: $out"
  [ "$out" = "deprecated $BEEF/80 dev venet0" ] || fail "nlsel deprecate printed: $out"
  ip -n "$ns" -j addr show dev venet0 >/tmp/seed.after || fail "ip -j addr show"
  route_json "$ns" "$DEST" >/tmp/seed.route-after || fail "ip route get $DEST"
  sock=$(socket_srcs "$ns" "$DEST") || fail "UDP socket to $DEST: $sock"
  judge --slurpfile b /tmp/seed.before --slurpfile a /tmp/seed.after \
    --slurpfile rb /tmp/seed.route-before --slurpfile ra /tmp/seed.route-after \
    --arg beef "$BEEF" --arg two "$SEED2" --arg low "$LOW2" --arg sock "$sock" \
    --argjson forever "$FOREVER" '
    def addr($doc; $x): [$doc[0][] | .addr_info[]? | select(.local == $x)] | first;
    def strip: del(.preferred_life_time, .deprecated);
    addr($b; $beef) as $b1 | addr($a; $beef) as $a1
    | if $b1 == null or $a1 == null then "::beef missing: before \($b1), after \($a1)" else
        (if $b1.preferred_life_time != $forever or $b1.deprecated then "setup: ::beef was not preferred: \($b1)" else empty end),
        # The kernel chose ::beef before: the newest of two addresses equal on every rule.
        (if $rb[0][0].prefsrc != $beef then "setup: the kernel chose \($rb[0][0].prefsrc) before the change, not ::beef" else empty end),
        (if $a1.preferred_life_time != 0 then "::beef preferred_lft is \($a1.preferred_life_time), not 0" else empty end),
        (if $a1.deprecated != true then "::beef is not flagged deprecated: \($a1)" else empty end),
        # valid_lft, scope, flags and the rest: as they were.
        (if ($a1 | strip) != ($b1 | strip) then "::beef changed beyond preferred_lft: before \($b1), after \($a1)" else empty end),
        (($two, $low) as $x | if addr($a; $x) != addr($b; $x) or addr($a; $x) == null then "\($x) changed: before \(addr($b; $x)), after \(addr($a; $x))" else empty end),
        (if $ra[0][0].prefsrc != $two then "ip -6 route get chooses \($ra[0][0].prefsrc), not \($two)" else empty end),
        (if $sock != $two then "an unbound UDP socket gets \($sock), not \($two)" else empty end)
      end'
  echo "$(uname -r) $kind: ::beef deprecated, $DEST from $sock"
}

check_seed-veth() { seed_check veth; }
check_seed-tun() { seed_check tun; }

# `nlsel -j show` against `ip -j addr show`, whole documents, as tests/ip_parity.rs compares
# them: a lifetime that counts down between the calls must lie between ip's two readings, and
# "protocol" is ignored only when this iproute2 prints it for no address at all.
PARITY_JQ='
def settle($b; $a; $k):
  if type == "object" and ($b | type) == "object" and ($a | type) == "object" then
    with_entries(.key as $kk
      | if ($b | has($kk)) and ($a | has($kk)) then .value |= settle($b[$kk]; $a[$kk]; $kk) else . end)
  elif type == "array" and ($b | type) == "array" and ($a | type) == "array" then
    [range(0; length) as $i | .[$i] | settle($b[$i]; $a[$i]; "")]
  elif type == "number" and ($k | endswith("_life_time")) and ($b | type) == "number"
    and ($a | type) == "number" and . != $b and $a <= . and . <= $b then $b
  else . end;
def strip($key): walk(if type == "object" then del(.[$key]) else . end);
def leaves: [paths(scalars) as $p | {($p | map(tostring) | join(".")): getpath($p)}] | add // {};
($names | split(";")) as $n
| if ($o | length) != ($b | length) then "nlsel printed \($o | length) documents for \($b | length) calls" else
  range(0; $b | length) as $i
  | ($o[$i] | if ([$b[$i] | .. | objects | has("protocol")] | any | not) then strip("protocol") else . end
    | settle($b[$i]; $a[$i]; "")) as $s
  | select($s != $b[$i])
  | ($s | leaves) as $x | ($b[$i] | leaves) as $y
  | "nlsel -j show \($n[$i]) differs from ip -j addr show \($n[$i]):",
    ([($x + $y) | keys[] | select($x[.] != $y[.]) | "  \(.): nlsel \($x[.] | tojson), ip \($y[.] | tojson)"]
     | if length == 0 then ["  in structure: nlsel \($s | tojson), ip \($b[$i] | tojson)"] else .[:10] end | .[])
  end'

check_show-parity() {
  local ns=parity other=parity-peer
  new_ns "$ns"
  new_ns "$other"
  local devs=(lo va vb vc vd vx br0 va.7 venet0)
  ip -n "$ns" link add vc type veth peer name vd || fail "vc/vd"
  ip -n "$ns" link set vc up || fail "vc up" # NO-CARRIER on vc, M-DOWN on both
  ip -n "$ns" link add va type veth peer name vb || fail "va/vb"
  ip -n "$ns" link set va up && ip -n "$ns" link set vb up || fail "va/vb up"
  ip -n "$ns" link set vb mtu 1400 txqueuelen 0 group 5 || fail "vb settings"
  ip -n "$ns" link set vb address 02:00:00:00:00:0b || fail "vb address"
  ip -n "$ns" link property add dev va altname uplink0 || fail "altname"
  ip -n "$ns" link add vx type veth peer name vy netns "$other" || fail "vx/vy"
  ip -n "$ns" link add br0 type bridge || fail "bridge"
  ip -n "$ns" link set vx master br0 && ip -n "$ns" link set br0 up || fail "bridge port"
  ip -n "$ns" link add link va name va.7 type vlan id 7 && ip -n "$ns" link set va.7 up || fail "vlan"
  ip -n "$ns" tuntap add dev venet0 mode tun || fail "tun"
  hold_tun "$ns" venet0
  ip -n "$ns" link set venet0 up || fail "venet0 up"
  local dev spec
  while read -r dev spec; do
    # shellcheck disable=SC2086 # the spec is words on purpose
    ip -n "$ns" addr add $spec dev "$dev" || fail "addr add $spec dev $dev"
  done <<EOF
va 2001:db8:1::2/64 nodad
va 2001:db8:1::3/64 noprefixroute valid_lft 7200 preferred_lft 3600
va 2001:db8:1::4/64 mngtmpaddr
va 2001:db8:1::5/64 home preferred_lft 0
va 2001:db8:1::6/64 metric 300
va 192.0.2.1/24 brd + label va:pub
va 192.0.2.2/24
va 10.9.0.1 peer 10.9.0.2/32
va 2001:db8:2::1 peer 2001:db8:2::2/128
vb 198.51.100.7/25 scope link
vb 2001:db8:3::1/64 scope site
venet0 $LOW2/128
venet0 $SEED2/80
venet0 $BEEF/80 preferred_lft 0
EOF
  eventually "$DEADLINE" has_carrier "$ns" venet0 || fail "venet0 has no carrier"
  eventually "$DEADLINE" settled "$ns" || fail "addresses stay tentative"
  # The scenario really has what the comparison is meant to cover.
  local whole needle
  whole=$(ip -n "$ns" -j addr show)
  for needle in '"link_index"' '"link_netnsid"' '"altnames"' '"M-DOWN"' '"NO-CARRIER"' \
    '"secondary"' '"deprecated"' '"dynamic"' '"group":"5"' '"link_type":"none"' '"master"'; do
    [[ $whole == *"$needle"* ]] || fail "scenario lacks $needle: $whole"
  done
  : >/tmp/parity.ip-before
  : >/tmp/parity.nlsel
  : >/tmp/parity.ip-after
  local names=("") out rc set
  for dev in "${devs[@]}"; do names+=("dev $dev"); done
  for set in "${names[@]}"; do
    # shellcheck disable=SC2086 # "dev X" is two words on purpose
    ip -n "$ns" -j addr show $set >>/tmp/parity.ip-before || fail "ip -j addr show $set"
    # shellcheck disable=SC2086
    out=$($NLSEL -n "$ns" -j show $set 2>/tmp/parity.err)
    rc=$?
    # shellcheck disable=SC2086
    ip -n "$ns" -j addr show $set >>/tmp/parity.ip-after || fail "ip -j addr show $set"
    [ "$rc" = 0 ] || fail "nlsel -j show $set exited $rc: $out $(cat /tmp/parity.err)"
    printf '%s\n' "$out" >>/tmp/parity.nlsel
  done
  judge --slurpfile o /tmp/parity.nlsel --slurpfile b /tmp/parity.ip-before \
    --slurpfile a /tmp/parity.ip-after --arg names "$(IFS=';' && echo "${names[*]}")" "$PARITY_JQ"
  echo "$(uname -r): nlsel -j show = ip -j addr show on ${#devs[@]} devices and as a whole"
}

# explain_round NS PHASE DEST...: `which DEST --explain` exits 0 and prints no DISAGREEMENT
# (nor unsupported) for each DEST, and its -j form names the source ip and an unbound socket
# get (for IPv4: the kernel's, decided by its primary-address choice).
explain_round() {
  local ns=$1 phase=$2
  shift 2
  local d out rc
  : >/tmp/explain.json
  local v6=()
  for d in "$@"; do
    out=$($NLSEL -n "$ns" which "$d" --explain 2>&1)
    rc=$?
    [ "$rc" = 0 ] || fail "$phase: which $d --explain exited $rc: $out"
    [[ $out != *DISAGREEMENT* && $out != *unsupported* ]] || fail "$phase: which $d --explain: $out"
    $NLSEL -n "$ns" -j which "$d" --explain >>/tmp/explain.json 2>/tmp/explain.err ||
      fail "$phase: -j which $d --explain: $(cat /tmp/explain.err)"
    [[ $d == *:* ]] && v6+=("$d")
  done
  route_json "$ns" "$@" >/tmp/explain.routes || fail "$phase: ip route get: $(cat /tmp/explain.routes)"
  local socks
  socks=$(socket_srcs "$ns" "${v6[@]}") || fail "$phase: UDP sockets: $socks"
  judge --slurpfile e /tmp/explain.json --slurpfile r /tmp/explain.routes \
    --arg dests "$(printf '%s\n' "$@")" --arg v6 "$(printf '%s\n' "${v6[@]}")" --arg socks "$socks" \
    --arg phase "$phase" --arg beef "$BEEF" '
    ($dests | split("\n")) as $d
    | ([$v6 | split("\n"), ($socks | split("\n"))] | transpose | map({(.[0]): .[1]}) | add) as $sock
    | if ($e | length) != ($d | length) or ($r | length) != ($d | length) then
        "\($phase): \($e | length) explanations and \($r | length) routes for \($d | length) destinations"
      else
        (range(0; $d | length) as $i | $e[$i] as $x | $r[$i][0].prefsrc as $want
         | if ($d[$i] | test(":")) then
             select($x.agrees != true or $x.src != $want or $x.kernel_src != $want
               or $x.unsupported != null or $sock[$d[$i]] != $want)
             | "\($phase): \($d[$i]): ip says \($want), the socket \($sock[$d[$i]]), nlsel \($x | {agrees, src, kernel_src, unsupported} | tojson)"
           else
             select($x.kernel_src != $want or $x.decided_by != "primary_address")
             | "\($phase): \($d[$i]): ip says \($want), nlsel \($x | {kernel_src, decided_by} | tojson)"
           end),
        # The seed destination after deprecate: ::beef loses at rule 3 (deprecated).
        (select($phase == "after") | [$e[0].candidates[] | select(.local == $beef) | .rule]
         | select(. != [3]) | "after: ::beef does not lose at rule 3 alone: \(.)")
      end'
}

check_which-explain() {
  local ns=explain
  seed_ns "$ns" veth
  local dests=("$DEST" "$P::1" "$BEEF" "$SEED2" "2001:db8:f1c1:8455::1" "$LOW2" "::3" "198.51.100.1")
  explain_round "$ns" before "${dests[@]}"
  $NLSEL -n "$ns" -q deprecate --except "$LOW2" || fail "deprecate"
  explain_round "$ns" after "${dests[@]}"
  echo "$(uname -r): ${#dests[@]} destinations agree before and after deprecate"
}

check_check-exit() {
  local ns=check
  seed_ns "$ns" veth
  local out rc before
  before=$(ip -n "$ns" -j addr show)
  out=$($NLSEL -n "$ns" deprecate --except "$LOW2" --check 2>&1)
  rc=$?
  [ "$rc" = 3 ] || fail "--check before the change exited $rc (want 3): $out"
  [ "$out" = "would deprecate $BEEF/80 dev venet0" ] || fail "--check printed: $out"
  [ "$(ip -n "$ns" -j addr show)" = "$before" ] || fail "--check changed something"
  out=$($NLSEL -n "$ns" deprecate --except "$LOW2" 2>&1) || fail "deprecate: $out"
  is_deprecated "$ns" "$BEEF" || fail "::beef not deprecated after deprecate: $(addr_line "$ns" "$BEEF")"
  out=$($NLSEL -n "$ns" deprecate --except "$LOW2" --check 2>&1)
  rc=$?
  [ "$rc" = 0 ] || fail "--check after the change exited $rc (want 0): $out"
  [ -z "$out" ] || fail "--check after the change printed: $out"
  echo "$(uname -r): --check exits 3, then 0 after deprecate"
}

check_watch-readd() {
  local ns=watch
  seed_ns "$ns" veth
  $NLSEL -n "$ns" deprecate --except "$LOW2" --watch >/tmp/watch.out 2>&1 </dev/null &
  local watch=$!
  holders+=("$watch")
  eventually "$DEADLINE" is_deprecated "$ns" "$BEEF" || fail "--watch did not deprecate ::beef: $(cat /tmp/watch.out)"
  ip -n "$ns" addr del "$BEEF/80" dev venet0 || fail "addr del"
  [ -z "$(addr_line "$ns" "$BEEF")" ] || fail "::beef still there after addr del"
  # Re-added with a finite valid_lft, so the deprecated address seen below is the new one.
  ip -n "$ns" addr add "$BEEF/80" dev venet0 valid_lft 5000 preferred_lft 4000 || fail "addr add"
  eventually "$DEADLINE" is_deprecated "$ns" "$BEEF" ||
    fail "the re-added ::beef was not deprecated within ${DEADLINE} s: $(addr_line "$ns" "$BEEF"); nlsel: $(cat /tmp/watch.out)"
  local line valid
  line=$(addr_line "$ns" "$BEEF")
  valid=$(sed -n 's/.* valid_lft \([0-9]*\)sec.*/\1/p' <<<"$line")
  [ -n "$valid" ] && [ "$valid" -le 5000 ] && [ "$valid" -gt 4000 ] ||
    fail "the re-added ::beef lost its valid_lft: $line"
  kill -0 "$watch" 2>/dev/null || fail "--watch exited: $(cat /tmp/watch.out)"
  kill "$watch"
  wait "$watch"
  local rc=$?
  [ "$rc" = 0 ] || fail "--watch ended with $rc on SIGTERM (want 0): $(cat /tmp/watch.out)"
  [ "$(grep -c "^deprecated $BEEF/80 dev venet0" /tmp/watch.out)" = 2 ] ||
    fail "--watch did not report two deprecations: $(cat /tmp/watch.out)"
  echo "$(uname -r): --watch re-deprecated the re-added ::beef"
}

# The race guard (tests/race.rs): another process adds and deletes addresses while nlsel runs
# deprecate in a loop. An RTM_NEWADDR for an address deleted meanwhile re-creates it; nlsel
# must remove what it re-created. Each round adds addresses of its own and deletes all but
# every tenth, so the addresses left at the end are exactly the ones the churn kept.
ROUNDS=${KCHECK_ROUNDS:-10}
PER_ROUND=${KCHECK_PER_ROUND:-200}
check_race-churn() {
  local ns=race
  new_ns "$ns"
  ip -n "$ns" link add venet0 type veth peer name venet0p || fail "veth"
  ip -n "$ns" link set venet0 up && ip -n "$ns" link set venet0p up || fail "veth up"
  ip -n "$ns" addr add 2001:db8::2/64 dev venet0 || fail "addr add"
  local round i
  : >/tmp/churn.batch
  echo 2001:db8::2 >/tmp/churn.kept
  for round in $(seq "$ROUNDS"); do
    for i in $(seq "$PER_ROUND"); do
      printf 'addr add 2001:db8::%x:%x/64 dev venet0\n' "$round" "$i" >>/tmp/churn.batch
    done
    for i in $(seq "$PER_ROUND"); do
      if [ $((i % 10)) = 0 ]; then
        printf '2001:db8::%x:%x\n' "$round" "$i" >>/tmp/churn.kept
      else
        printf 'addr del 2001:db8::%x:%x/64 dev venet0\n' "$round" "$i" >>/tmp/churn.batch
      fi
    done
  done
  sort -o /tmp/churn.kept /tmp/churn.kept
  ip -n "$ns" -force -batch /tmp/churn.batch </dev/null >/dev/null 2>&1 &
  local churn=$! runs=0 failed=0 churn_done=0 out rc errors
  while :; do
    kill -0 "$churn" 2>/dev/null || churn_done=1
    out=$($NLSEL -n "$ns" -q deprecate --except 2001:db8::2 2>&1)
    rc=$?
    runs=$((runs + 1))
    case $rc in
      0) ;;
      1)
        errors=$(grep -v '^nlsel: warning:' <<<"$out")
        [ "$(grep -c . <<<"$errors")" = 1 ] && [[ $errors == "nlsel: "* ]] ||
          fail "exit 1 without one clear error line: $out"
        failed=$((failed + 1))
        ;;
      *) fail "nlsel exited $rc under churn: $out" ;;
    esac
    # One more run after the churn ended, so the last state is handled too.
    [ "$churn_done" = 1 ] && break
  done
  wait "$churn" || fail "the churn batch failed"
  [ "$rc" = 0 ] || fail "the run after the churn exited $rc: $out"
  ip -n "$ns" -o -6 addr show dev venet0 scope global >/tmp/churn.left || fail "ip addr show"
  sed 's,.* inet6 \([^/]*\)/.*,\1,' /tmp/churn.left | sort >/tmp/churn.left-addrs
  if ! diff /tmp/churn.kept /tmp/churn.left-addrs >/tmp/churn.diff; then
    echo "after $runs runs the addresses are not the ones the churn left (< missing, > brought back):"
    grep '^[<>]' /tmp/churn.diff | head -n 10
    fail "$(grep -c '^>' /tmp/churn.diff) address(es) brought back, $(grep -c '^<' /tmp/churn.diff) missing after $runs runs"
  fi
  local preferred
  preferred=$(grep -v ' inet6 2001:db8::2/' /tmp/churn.left | grep -vc ' preferred_lft 0sec')
  [ "$preferred" = 0 ] || fail "$preferred kept address(es) not deprecated by the run after the churn"
  [ "$runs" -ge 2 ] || fail "nlsel ran only $runs time(s) during the churn"
  [ $((failed * 10)) -le "$runs" ] || fail "$failed of $runs runs failed"
  echo "$(uname -r): $runs runs during $((ROUNDS * PER_ROUND)) additions, $failed exited 1, nothing brought back"
}

# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------

if [ "${1:-}" = check ]; then
  "check_$2"
  exit $?
fi

# PID 1: the initramfs moved /proc, /sys, /dev and /run here already; mount what is missing.
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs tmpfs /run
mountpoint -q /tmp || mount -t tmpfs tmpfs /tmp
# udev would make these; bash's <(...) needs /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
# Kernel messages would land in the middle of result lines on the console.
echo 1 >/proc/sys/kernel/printk
power_off() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 60
}
trap power_off EXIT
for m in veth tun bridge 8021q; do
  modprobe "$m" || echo "KCHECK note: modprobe $m failed"
done
echo "KCHECK kernel $(uname -r)"
# KCHECK_ONLY=a,b on the kernel command line (the kernel hands it to init) runs only those.
only=${KCHECK_ONLY:-}
for c in "${CHECKS[@]}"; do
  [ -z "$only" ] || [[ ",$only," == *",$c,"* ]] || continue
  start=$SECONDS
  out=$(timeout "$CHECK_TIMEOUT" /test.sh check "$c" 2>&1)
  rc=$?
  [ "$rc" = 124 ] && out="$out"$'\n'"timed out after $CHECK_TIMEOUT s"
  printf '%s\n' "$out" "took $((SECONDS - start)) s" | cut -c 1-2000 | sed 's/^/  | /'
  if [ "$rc" = 0 ]; then
    echo "KCHECK ok $c"
  else
    echo "KCHECK FAILED $c: $(printf '%s\n' "$out" | grep . | tail -n 1 | cut -c 1-300)"
  fi
done
echo "KCHECK done"
