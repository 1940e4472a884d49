#!/usr/bin/env bash
# End-to-end test of `nlsel unit` under a real systemd: boots a minimal Debian (mmdebstrap
# --variant=minbase with systemd, dbus and iproute2) as PID 1 in systemd-nspawn with a private
# network, installs the nlsel binary given as $1 at /usr/local/bin/nlsel, and checks, with
# iproute2 inside the container as the oracle:
#   1. a oneshot unit deprecates the other addresses and ends 0/SUCCESS;
#   2. a --watch unit deprecates an address added while it runs, and `systemctl stop` ends it
#      with status 0/SUCCESS;
#   3. a unit with -n NETNS works in that namespace and names it in Description=, and a
#      --watch one there tells systemd it is ready (Type=notify after setns);
#   4. a unit for a binary kept under /var/tmp runs it (no status=203/EXEC);
#   5. entering a namespace under RestrictNamespaces= fails with a message naming that cause;
#   6. after a reboot with the units enabled, both did their work at boot;
#   7. boot series, the oneshot and the --watch unit each, with a networking.service shaped like
#      Debian's ifupdown one (venet0 a tun, NOARP like OpenVZ's, with ::2, then ::beef added)
#      and a probe service After=network-online.target that records the kernel's source for
#      an outside address (`ip -6 route get`, and an unbound UDP socket's connect+getsockname)
#      at its start: no boot leaks ::beef, and nlsel's unit is done before the probe starts;
#   8. `systemctl restart networking` (a oneshot re-run through PartOf=, --watch) deprecates
#      ::beef again within 1 s;
#   9. the same boot series with Debian's real ifupdown and a seed-shaped
#      /etc/network/interfaces;
#  10. systemd-networkd with Address= lines: after `networkctl reconfigure` ::beef is preferred
#      for at most 1 s under --watch; networkd's own PreferredLifetime=0 keeps it deprecated;
#  11. no ordering cycle with networkd, NetworkManager-shaped units and ifupdown all present.
# NLSEL_SYSTEMD_BOOTS (default 20) sets the length of each series of 7 and
# NLSEL_SYSTEMD_IFUPDOWN_BOOTS (default 5) that of 9. NLSEL_SYSTEMD_SEED_BOOTS=N (default 0)
# also boots N times with the seed's own unit (After=network-online.target only) and checks
# that it leaks at least once: proof that the probe can see a leak.
#
# Usage: tests/systemd/run.sh PATH/TO/nlsel      (as root; .ci/run passes the static build)
# Needs mmdebstrap and systemd-nspawn (Debian packages mmdebstrap, systemd-container) and the
# Debian mirror; the root gets ifupdown and the rest of lib.sh's ROOT_PACKAGES. Without them it
# skips with a reason, except under CI=true, where it fails.
# Everything it makes lives in one temporary directory, removed on exit; nothing is cached.
# The root and the helpers are tests/systemd/lib.sh's, shared with tests/systemd/doctor.sh and
# tests/package/run.sh.
set -euo pipefail

bin=${1:?usage: tests/systemd/run.sh PATH/TO/nlsel}
bin=$(realpath "$bin")

# shellcheck source=tests/systemd/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
make_root_with_nlsel

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
# Type=notify after setns: $NOTIFY_SOCKET is a path, which reaches systemd from any namespace;
# `systemctl start` returns only once READY=1 arrived (or fails at the start timeout).
write_unit nlsel-blue-watch $N -n blue unit deprecate --except ::2 --watch
in_ct systemctl daemon-reload
in_ct systemctl enable --quiet nlsel-blue-watch.service # kept loaded once stopped, as in 2.
in_ct ip -n blue addr add 2001:db8::cafe/64 dev venet0 nodad
check "netns --watch unit starts (READY=1 from inside blue)" in_ct systemctl start nlsel-blue-watch.service
check "netns --watch: ::cafe deprecated in blue" is_deprecated 2001:db8::cafe blue
check "netns --watch: stopped with status 0/SUCCESS" \
  eval 'in_ct systemctl stop nlsel-blue-watch.service && ended_cleanly nlsel-blue-watch.service'
in_ct systemctl disable --quiet nlsel-blue-watch.service

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
Before=network.target network-online.target
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
systemctl --root="$root" disable --quiet nlsel-testnet.service nlsel-oneshot.service nlsel-watch.service

# 7–11: the seed's situation at boot (lib.sh: install_boot_probe, judge_boot).
series_start=$SECONDS
install_boot_probe

# The units under test, for the whole series, written by nlsel inside: each is enabled in turn.
boot
write_unit nlsel-boot-oneshot $N unit deprecate --except ::2
write_unit nlsel-boot-watch $N unit deprecate --except ::2 --watch
# The old unit, for NLSEL_SYSTEMD_SEED_BOOTS: the oneshot with the seed's ordering, as nlsel
# printed it before: After=network-online.target only, beside the services it should precede.
sed -e '/^# After the services/d' -e '/^Before=network-online.target$/d' -e '/^PartOf=/d' \
  -e 's/^After=.*/After=network-online.target/' -e 's/^WantedBy=.*/WantedBy=multi-user.target/' \
  "$root/etc/systemd/system/nlsel-boot-oneshot.service" >"$root/etc/systemd/system/nlsel-seed.service"
stop_container

# boot_series NAME UNIT PROPERTY COUNT: COUNT boots with UNIT enabled (and nothing else of
# nlsel's), one check line each for leaks and for order.
boot_series() {
  local name=$1 unit=$2 property=$3 count=$4 i
  systemctl --root="$root" enable --quiet "$unit"
  : >"$tmp/series"
  for i in $(seq "$count"); do
    boot
    judge_boot "$unit" "$property"
    stop_container
  done
  systemctl --root="$root" disable --quiet "$unit"
  local leaks late
  leaks=$(grep -c leak "$tmp/series" || true)
  late=$(grep -c late "$tmp/series" || true)
  check "$name: $count boots, $leaks leaked ::beef to the probe" [ "$leaks" = 0 ]
  check "$name: $count boots, $unit done before the probe started in $((count - late))" [ "$late" = 0 ]
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# After `systemctl restart networking` returns: ::beef deprecated again (polled for up to 5 s),
# within 1 s of the return.
restart_deprecates() {
  local name=$1 start elapsed
  in_ct systemctl restart networking.service
  start=$(now_ms)
  for _ in $(seq 500); do
    is_deprecated "$HIDE" && break
    [ $(($(now_ms) - start)) -gt 5000 ] && break
  done
  elapsed=$(($(now_ms) - start))
  check "$name: ::beef deprecated after systemctl restart networking" is_deprecated "$HIDE"
  check "$name: ... within 1 s of the restart's end (${elapsed} ms)" [ "$elapsed" -le 1000 ]
  check "$name: ::2 stays preferred" is_preferred_forever "$KEEP"
}

boots_per_series=${NLSEL_SYSTEMD_BOOTS:-20}
ifupdown_boots=${NLSEL_SYSTEMD_IFUPDOWN_BOOTS:-5}
systemctl --root="$root" enable --quiet probe.service networking.service

echo "== 7, 8. ifupdown-shaped networking.service: oneshot, $boots_per_series boots"
t=$SECONDS
boot_series "ifupdown-shaped, oneshot" nlsel-boot-oneshot.service ExecMainExitTimestampMonotonic "$boots_per_series"
echo "   took $((SECONDS - t)) s"
systemctl --root="$root" enable --quiet nlsel-boot-oneshot.service
boot
before=$(in_ct systemctl show nlsel-boot-oneshot.service -p ExecMainStartTimestampMonotonic --value)
restart_deprecates "restart, oneshot"
after=$(in_ct systemctl show nlsel-boot-oneshot.service -p ExecMainStartTimestampMonotonic --value)
check "restart, oneshot: the oneshot ran again (PartOf=networking.service)" [ "$after" -gt "$before" ]
stop_container
systemctl --root="$root" disable --quiet nlsel-boot-oneshot.service

echo "== 7, 8. ifupdown-shaped networking.service: --watch, $boots_per_series boots"
t=$SECONDS
boot_series "ifupdown-shaped, --watch" nlsel-boot-watch.service ActiveEnterTimestampMonotonic "$boots_per_series"
echo "   took $((SECONDS - t)) s"
systemctl --root="$root" enable --quiet nlsel-boot-watch.service
boot
check "boot: the --watch unit is Type=notify and active" \
  eval '[ "$(in_ct systemctl show nlsel-boot-watch.service -p Type --value)" = notify ] && in_ct systemctl is-active --quiet nlsel-boot-watch.service'
check "boot: its STATUS= reaches systemctl status" \
  eval 'in_ct systemctl show nlsel-boot-watch.service -p StatusText --value | grep -q "watching for address changes"'
restart_deprecates "restart, --watch"
check "restart, --watch: still running" in_ct systemctl is-active --quiet nlsel-boot-watch.service
stop_container
systemctl --root="$root" disable --quiet nlsel-boot-watch.service

if [ "${NLSEL_SYSTEMD_SEED_BOOTS:-0}" -gt 0 ]; then
  echo "== the old unit (After=network-online.target only): ${NLSEL_SYSTEMD_SEED_BOOTS} boots"
  systemctl --root="$root" enable --quiet nlsel-seed.service
  : >"$tmp/series"
  for _ in $(seq "$NLSEL_SYSTEMD_SEED_BOOTS"); do
    boot
    judge_boot nlsel-seed.service ExecMainExitTimestampMonotonic
    stop_container
  done
  systemctl --root="$root" disable --quiet nlsel-seed.service
  seed_leaks=$(grep -c leak "$tmp/series" || true)
  seed_late=$(grep -c late "$tmp/series" || true)
  check "the old unit leaks (the probe can see a leak): $seed_leaks of ${NLSEL_SYSTEMD_SEED_BOOTS}" [ "$seed_leaks" -gt 0 ]
  check "the old unit ends after the probe started (the order check can fail): $seed_late of ${NLSEL_SYSTEMD_SEED_BOOTS}" [ "$seed_late" -gt 0 ]
fi

echo "== 9. Debian's ifupdown with a seed-shaped /etc/network/interfaces: $ifupdown_boots boots each"
# The package's networking.service again, enabled as the package enables it.
systemctl --root="$root" disable --quiet networking.service
rm "$root/etc/systemd/system/networking.service"
systemctl --root="$root" enable --quiet networking.service
write_seed_interfaces # the seed-shaped file (lib.sh)
t=$SECONDS
boot_series "ifupdown, oneshot" nlsel-boot-oneshot.service ExecMainExitTimestampMonotonic "$ifupdown_boots"
boot_series "ifupdown, --watch" nlsel-boot-watch.service ActiveEnterTimestampMonotonic "$ifupdown_boots"
echo "   took $((SECONDS - t)) s"
systemctl --root="$root" enable --quiet nlsel-boot-oneshot.service
boot
restart_deprecates "ifupdown restart, oneshot"
stop_container
systemctl --root="$root" disable --quiet nlsel-boot-oneshot.service

echo "== 10. systemd-networkd with Address= lines"
systemctl --root="$root" disable --quiet networking.service
write_networkd_venet0
systemctl --root="$root" enable --quiet systemd-networkd.service nlsel-boot-watch.service
boot
check "networkd: configured venet0" eventually is_preferred_forever "$KEEP"
check "networkd: ::beef deprecated by --watch" eventually is_deprecated "$HIDE"

monitor_reconfigure "$tmp/reconfigure.log"
window=$(reset_window "$tmp/reconfigure.log")
echo "   ::beef preferred for $window ms after networkd reset it"
check "networkd: reconfigure set ::beef back to preferred forever (the test sees the reset)" \
  grep -q " $HIDE/80 .*preferred_lft forever" "$tmp/reconfigure.log"
check "networkd: --watch deprecated it again within 1 s ($window ms)" \
  awk -v w="$window" 'BEGIN { exit !(w ~ /^[0-9.]+$/ && w <= 1000) }'
check "networkd: ::beef deprecated at the end" eventually is_deprecated "$HIDE"
stop_container
systemctl --root="$root" disable --quiet nlsel-boot-watch.service

# networkd's own way, without nlsel: PreferredLifetime=0 in an [Address] section.
write_networkd_venet0 deprecated
boot
check "networkd PreferredLifetime=0: ::beef deprecated at boot" eventually is_deprecated "$HIDE"
monitor_reconfigure "$tmp/reconfigure0.log"
check "networkd PreferredLifetime=0: reconfigure re-sent ::beef (the test sees it)" \
  grep -q " $HIDE/80 " "$tmp/reconfigure0.log"
check "networkd PreferredLifetime=0: never preferred across reconfigure" \
  eval '! grep -q " $HIDE/80 .*preferred_lft forever" "$tmp/reconfigure0.log"'
check "networkd PreferredLifetime=0: ::beef deprecated after reconfigure" is_deprecated "$HIDE"
stop_container

echo "== 11. no ordering cycle with every address manager present"
# NetworkManager's units, shaped like Debian's (the package would pull in half a desktop).
cat >"$root/etc/systemd/system/NetworkManager.service" <<'UNIT'
[Unit]
Description=Network Manager (shaped like NetworkManager's)
Wants=network.target
After=network-pre.target dbus.service
Before=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
UNIT
cat >"$root/etc/systemd/system/NetworkManager-wait-online.service" <<'UNIT'
[Unit]
Description=Network Manager Wait Online (shaped like NetworkManager's)
Requires=NetworkManager.service
After=NetworkManager.service
Before=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true

[Install]
WantedBy=network-online.target
UNIT
# ifupdown brings up lo only: venet0 stays networkd's (PreferredLifetime=0 above).
printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
systemctl --root="$root" enable --quiet networking.service ifupdown-wait-online.service \
  systemd-networkd-wait-online.service NetworkManager.service NetworkManager-wait-online.service \
  nlsel-boot-oneshot.service nlsel-boot-watch.service
boot
for unit in nlsel-boot-oneshot nlsel-boot-watch; do
  out=$(in_ct systemd-analyze verify "/etc/systemd/system/$unit.service" 2>&1 || echo "exit $?")
  check "$unit: systemd-analyze verify with ifupdown, networkd and NetworkManager units: silent" [ -z "$out" ]
  [ -z "$out" ] || echo "$out" >&2
done
check "no ordering cycle in the boot's journal" \
  eval '! in_ct journalctl -b --no-pager -o cat | grep -i "ordering cycle"'
check "both units active at the end of the boot" in_ct systemctl is-active --quiet nlsel-boot-oneshot.service nlsel-boot-watch.service
stop_container
echo "   boot series and managers took $((SECONDS - series_start)) s"

echo "systemd: $passed passed, $failed failed, $boots boots"
[ "$failed" = 0 ]
