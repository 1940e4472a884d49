#!/usr/bin/env bash
# End-to-end test of `nlsel unit` under a real systemd: boots a minimal Debian (mmdebstrap
# --variant=minbase with systemd, dbus and iproute2) as PID 1 in systemd-nspawn with a private
# network, installs the nlsel binary given as $1 at /usr/local/bin/nlsel, and checks, with
# iproute2 inside the container as the oracle:
#   1. a oneshot unit deprecates the other addresses and ends 0/SUCCESS;
#   2. a --watch unit deprecates an address added while it runs, and `systemctl stop` ends it
#      with status 0/SUCCESS;
#   3. a unit with -n NETNS works in that namespace and names it in Description=;
#   4. a unit for a binary kept under /var/tmp runs it (no status=203/EXEC);
#   5. entering a namespace under RestrictNamespaces= fails with a message naming that cause;
#   6. after a reboot with the units enabled, both did their work at boot.
#
# Usage: tests/systemd/run.sh PATH/TO/nlsel      (as root; .ci/run passes the static build)
# Needs mmdebstrap and systemd-nspawn (Debian packages mmdebstrap, systemd-container) and the
# Debian mirror. Without them it skips with a reason, except under CI=true, where it fails.
# Everything it makes lives in one temporary directory, removed on exit; nothing is cached.
set -euo pipefail

bin=${1:?usage: tests/systemd/run.sh PATH/TO/nlsel}
bin=$(realpath "$bin")

passed=0
failed=0

skip() {
  if [ "${CI:-}" = true ]; then
    echo "systemd test: cannot run under CI=true: $*" >&2
    exit 1
  fi
  echo "systemd test: skipped: $*" >&2
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root"
for tool in mmdebstrap systemd-nspawn nsenter ip; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[ -x "$bin" ] || skip "$bin is not an executable"

tmp=$(mktemp -d /var/tmp/nlsel-systemd.XXXXXX)
root=$tmp/root
nspawn=
pid1=

stop_container() {
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    kill -TERM "$nspawn" 2>/dev/null || true # nspawn powers the container off on SIGTERM
    for _ in $(seq 300); do
      kill -0 "$nspawn" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
  fi
  nspawn=
  pid1=
}

cleanup() {
  stop_container
  rm -rf "$tmp"
}
trap cleanup EXIT

check() { # check DESCRIPTION COMMAND...: one test line, counted.
  local what=$1
  shift
  if "$@"; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what" >&2
    failed=$((failed + 1))
  fi
}

in_ct() { nsenter -t "$pid1" -a "$@"; }

# Polls COMMAND... for up to 20 s; its status is the last try's.
eventually() {
  for _ in $(seq 200); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  "$@"
}

boot() {
  systemd-nspawn -D "$root" --boot --private-network --register=no --keep-unit \
    --console=passive >>"$tmp/boot.log" 2>&1 &
  nspawn=$!
  # The child nspawn forks becomes the container's systemd once it has set the container up.
  for _ in $(seq 600); do
    pid1=$(pgrep -P "$nspawn" || true)
    [ -n "$pid1" ] && [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" = systemd ] && break
    pid1=
    sleep 0.1
  done
  [ -n "$pid1" ] || { cat "$tmp/boot.log" >&2; echo "systemd test: the container did not start" >&2; exit 1; }
  # Until its bus is up, systemctl cannot even ask; then it waits for the boot to end.
  local state=
  for _ in $(seq 240); do
    state=$(timeout 120 nsenter -t "$pid1" -a systemctl is-system-running --wait 2>/dev/null || true)
    [ -n "$state" ] && break
    sleep 0.5
  done
  if [ "$state" != running ]; then
    echo "systemd test: the container's system is '$state'" >&2
    nsenter -t "$pid1" -a systemctl --failed --no-pager >&2 || true
    exit 1
  fi
}

# preferred_lft of ADDR in the container (optionally in netns NS), or "absent".
preferred() {
  local addr=$1 ns=${2:-}
  local ip=(ip)
  [ -n "$ns" ] && ip=(ip -n "$ns")
  in_ct "${ip[@]}" -6 -o addr show to "$addr/128" |
    awk '{ for (i = 1; i < NF; i++) if ($i == "preferred_lft") { print $(i + 1); found = 1 } } END { if (!found) print "absent" }'
}
is_deprecated() { [ "$(preferred "$@")" = 0sec ]; }
is_preferred_forever() { [ "$(preferred "$@")" = forever ]; }

# Result=success and a main process that exited 0, for UNIT.
ended_cleanly() {
  local show
  show=$(in_ct systemctl show "$1" -p Result -p ExecMainCode -p ExecMainStatus)
  if grep -qx 'Result=success' <<<"$show" && grep -qx 'ExecMainStatus=0' <<<"$show" &&
    grep -qx 'ExecMainCode=1' <<<"$show"; then # CLD_EXITED: it exited, it was not killed
    return 0
  fi
  echo "$1:" $show >&2
  in_ct systemctl status "$1" --no-pager >&2 || true
  return 1
}

journal_has() { in_ct journalctl -u "$1" -o cat --no-pager | grep -qxF "$2"; }

# A veth venet0 in the container (or netns NS) with ::2 and ::beef in 2001:db8::/64.
setup_link() {
  local ip=(ip)
  [ -n "${1:-}" ] && ip=(ip -n "$1")
  in_ct "${ip[@]}" link add venet0 type veth peer name venet0p
  in_ct "${ip[@]}" link set venet0 up
  in_ct "${ip[@]}" link set venet0p up
  in_ct "${ip[@]}" addr add 2001:db8::2/64 dev venet0 nodad
  in_ct "${ip[@]}" addr add 2001:db8::beef/64 dev venet0 nodad
}

write_unit() { # write_unit NAME NLSEL-ARGS...: `nlsel ARGS` run inside, into /etc/systemd/system.
  local name=$1
  shift
  in_ct "$@" >"$root/etc/systemd/system/$name.service"
}

echo "== building a minimal Debian root"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if ! TMPDIR=$tmp mmdebstrap --quiet --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2 \
  "$suite" "$root" >"$tmp/mmdebstrap.log" 2>&1; then
  tail -20 "$tmp/mmdebstrap.log" >&2
  skip "mmdebstrap could not build the root"
fi
install -m 0755 "$bin" "$root/usr/local/bin/nlsel"

echo "== first boot"
boot
N=/usr/local/bin/nlsel

echo "== 1. oneshot"
setup_link
write_unit nlsel-oneshot $N unit deprecate --except ::2
in_ct systemctl daemon-reload
check "oneshot unit starts" in_ct systemctl start nlsel-oneshot.service
check "oneshot: ::beef deprecated" is_deprecated 2001:db8::beef
check "oneshot: ::2 stays preferred" is_preferred_forever 2001:db8::2
check "oneshot: 0/SUCCESS" ended_cleanly nlsel-oneshot.service
check "oneshot: its line in the journal" journal_has nlsel-oneshot.service "deprecated 2001:db8::beef/64 dev venet0"

echo "== 2. --watch"
write_unit nlsel-watch $N unit deprecate --except ::2 --watch
in_ct systemctl daemon-reload
# Enabled, so that systemd keeps the unit loaded once stopped: an unreferenced inactive unit is
# garbage-collected, and its exit status with it.
in_ct systemctl enable --quiet nlsel-watch.service
check "watch unit starts" in_ct systemctl start nlsel-watch.service
check "watch: running" eventually journal_has nlsel-watch.service "nlsel: watching for address changes"
in_ct ip addr add 2001:db8::cafe/64 dev venet0 nodad
check "watch: a new address is deprecated by the running service" eventually is_deprecated 2001:db8::cafe
check "watch: its line in the journal" eventually journal_has nlsel-watch.service "deprecated 2001:db8::cafe/64 dev venet0"
check "watch: systemctl stop" in_ct systemctl stop nlsel-watch.service
check "watch: stopped with status 0/SUCCESS" ended_cleanly nlsel-watch.service

echo "== 3. -n NETNS"
in_ct ip netns add blue
setup_link blue
write_unit nlsel-blue $N -n blue unit deprecate --except ::2
check "netns: Description= names -n blue" \
  grep -qx 'Description=Choose the IPv6 source address: nlsel -n blue deprecate --except ::2' \
  "$root/etc/systemd/system/nlsel-blue.service"
in_ct systemctl daemon-reload
check "netns unit starts" in_ct systemctl start nlsel-blue.service
check "netns: ::beef deprecated in blue" is_deprecated 2001:db8::beef blue
check "netns: 0/SUCCESS" ended_cleanly nlsel-blue.service

echo "== 4. a binary under /var/tmp"
in_ct cp $N /var/tmp/nlsel
in_ct ip addr change 2001:db8::beef/64 dev venet0 preferred_lft forever nodad
write_unit nlsel-vartmp /var/tmp/nlsel unit deprecate --except ::2
in_ct systemctl daemon-reload
check "/var/tmp unit starts (no 203/EXEC)" in_ct systemctl start nlsel-vartmp.service
check "/var/tmp: ::beef deprecated" is_deprecated 2001:db8::beef
check "/var/tmp: 0/SUCCESS" ended_cleanly nlsel-vartmp.service

echo "== 5. RestrictNamespaces= and -n"
out=$(in_ct systemd-run --quiet --wait --pipe -p RestrictNamespaces=yes $N -n blue show 2>&1 || true)
echo "   $out"
check "EPERM hint names RestrictNamespaces= and CAP_SYS_ADMIN" \
  grep -q 'network namespace "blue": .*CAP_SYS_ADMIN.*RestrictNamespaces=' <<<"$out"

echo "== 6. boot with the units enabled"
cat >"$root/etc/systemd/system/nlsel-testnet.service" <<'UNIT'
[Unit]
Description=Test network for nlsel: venet0 with ::2 and ::beef
Before=network-online.target
DefaultDependencies=no
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip link add venet0 type veth peer name venet0p
ExecStart=/usr/sbin/ip link set venet0 up
ExecStart=/usr/sbin/ip link set venet0p up
ExecStart=/usr/sbin/ip addr add 2001:db8::2/64 dev venet0 nodad
ExecStart=/usr/sbin/ip addr add 2001:db8::beef/64 dev venet0 nodad

[Install]
WantedBy=network-online.target
UNIT
in_ct systemctl daemon-reload
in_ct systemctl enable --quiet nlsel-testnet.service nlsel-oneshot.service
stop_container
boot
check "boot: oneshot ran at boot, 0/SUCCESS" ended_cleanly nlsel-oneshot.service
check "boot: watch is running" in_ct systemctl is-active --quiet nlsel-watch.service
check "boot: ::beef deprecated" eventually is_deprecated 2001:db8::beef
check "boot: ::2 stays preferred" is_preferred_forever 2001:db8::2
in_ct ip addr add 2001:db8::f00d/64 dev venet0 nodad
check "boot: the watch deprecates a new address" eventually is_deprecated 2001:db8::f00d
check "boot: systemctl stop" in_ct systemctl stop nlsel-watch.service
check "boot: stopped with status 0/SUCCESS" ended_cleanly nlsel-watch.service
stop_container

echo "systemd: $passed passed, $failed failed"
[ "$failed" = 0 ]
