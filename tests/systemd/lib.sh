#!/usr/bin/env bash
# The nspawn harness shared by tests/systemd/run.sh, tests/systemd/doctor.sh and
# tests/package/run.sh (sourced, after `set -euo pipefail`): the container's root, booting it as
# PID 1 under systemd-nspawn, entering it, counted checks, and the boot probe that tells whether
# a service after network-online.target saw ::beef. Everything lives in one temporary directory
# ($tmp), removed on exit.

passed=0
failed=0
boots=0

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

# --keep-unit boots the container in the caller's own cgroup. Two harnesses booting at once
# in one cgroup share it, and a unit inside then fails with status=219/CGROUP (seen once):
# run the harnesses one after another, as .ci/run does.
boot() {
  boots=$((boots + 1))
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
  # Until its bus is up, systemctl cannot even ask; then it waits for the boot to end. Before
  # systemd has made /run/systemd/system, systemctl answers "offline": not yet, either.
  local state=
  for _ in $(seq 240); do
    state=$(timeout 120 nsenter -t "$pid1" -a systemctl is-system-running --wait 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != offline ] && break
    sleep 0.5
  done
  if [ "$state" != running ]; then
    echo "systemd test: the container's system is '$state'" >&2
    nsenter -t "$pid1" -a systemctl --failed --no-pager >&2 || true
    # Each failed unit's own lines, which are gone once the container stops.
    local unit
    for unit in $(nsenter -t "$pid1" -a systemctl --failed --plain --no-legend | awk '{ print $1 }'); do
      nsenter -t "$pid1" -a journalctl -b -u "$unit" --no-pager -o short-monotonic >&2 || true
    done
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

# The packages of the container's root, for every script that boots it: ifupdown for Debian's
# real networking.service, jq for the seed's own script, python3 for tests/ra_sender.py,
# netplan.io (rendering to systemd-networkd) for doctor's netplan case, man-db and
# bash-completion for the package's man page and completion.
ROOT_PACKAGES=systemd,systemd-sysv,dbus,iproute2,ifupdown,jq,python3,netplan.io,man-db,bash-completion

# make_root: a minimal Debian in $root, without nlsel. NLSEL_SYSTEMD_ROOT=DIR copies a root that
# tests/systemd/root.sh built instead (.ci/run builds one per run for every script that boots).
make_root() {
  if [ -n "${NLSEL_SYSTEMD_ROOT:-}" ]; then
    echo "== copying the root $NLSEL_SYSTEMD_ROOT"
    cp -a "$NLSEL_SYSTEMD_ROOT" "$root"
    return
  fi
  echo "== building a minimal Debian root"
  local suite
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  if ! TMPDIR=$tmp mmdebstrap --quiet --variant=minbase --include="$ROOT_PACKAGES" \
    "$suite" "$root" >"$tmp/mmdebstrap.log" 2>&1; then
    tail -20 "$tmp/mmdebstrap.log" >&2
    skip "mmdebstrap could not build the root"
  fi
}

# make_root_with_nlsel: make_root, and $bin (the nlsel under test) at /usr/local/bin/nlsel.
make_root_with_nlsel() {
  [ -x "$bin" ] || skip "$bin is not an executable"
  make_root
  install -m 0755 "$bin" "$root/usr/local/bin/nlsel"
}

# /usr/local/bin/probe-udp in the root: prints "udp SRC", the source an unbound UDP socket gets
# for DEST (connect+getsockname; perl-base is in every Debian root).
install_probe_udp() {
  cat >"$root/usr/local/bin/probe-udp" <<PERL
#!/usr/bin/perl
use Socket qw(:all);
socket(my \$s, AF_INET6, SOCK_DGRAM, 0) or die "socket: \$!";
connect(\$s, pack_sockaddr_in6(9, inet_pton(AF_INET6, "$1"))) or die "connect: \$!";
my (\$port, \$addr) = unpack_sockaddr_in6(getsockname(\$s));
print "udp ", inet_ntop(AF_INET6, \$addr), "\\n";
PERL
  chmod 0755 "$root/usr/local/bin/probe-udp"
}

# The seed's addresses: venet0 gets ::2 (KEEP) before ::beef (HIDE) in P::/80, so with both
# preferred the kernel picks HIDE, the newest, for an outside destination such as DEST.
P=2001:db8:f1c1:8454:964
KEEP=$P::2
HIDE=$P::beef
DEST=2001:db8:9f16:8fc7::9

# A networking.service shaped like Debian 12's ifupdown one (same ordering and install lines);
# in /etc it hides the package's. ExecStop deletes venet0, as ifdown would, so a restart adds
# both addresses again, preferred.
write_shaped_networking() {
  cat >"$root/etc/systemd/system/networking.service" <<UNIT
[Unit]
Description=Raise network interfaces (shaped like ifupdown's)
DefaultDependencies=no
Wants=network.target
After=local-fs.target network-pre.target systemd-sysctl.service systemd-modules-load.service
Before=network.target shutdown.target network-online.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip tuntap add dev venet0 mode tun
ExecStart=/usr/sbin/ip link set venet0 up
ExecStart=/usr/sbin/ip -6 addr add ::2/128 dev venet0
ExecStart=/usr/sbin/ip -6 route add default dev venet0
ExecStart=/usr/sbin/ip addr add $KEEP/80 dev venet0
ExecStart=/usr/sbin/ip addr add $HIDE/80 dev venet0
ExecStop=/usr/sbin/ip link del venet0

[Install]
WantedBy=multi-user.target network-online.target
UNIT
}

# install_boot_probe: probe.service and the ifupdown-shaped networking.service in $root (not
# enabled). The probe is what a service ordered After=network-online.target (apt, an NTP client,
# a mailer) sees at its start: the kernel's route lookup for DEST, its main process (so that
# ExecMainStartTimestamp is its start), run directly, as early as can be; then the source an
# unbound UDP socket gets (probe-udp). /run is empty at each boot.
install_boot_probe() {
  install_probe_udp "$DEST"
  cat >"$root/etc/systemd/system/probe.service" <<UNIT
[Unit]
Description=Probe: the source address a service after network-online.target gets
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
StandardOutput=append:/run/probe.out
StandardError=append:/run/probe.out
ExecStart=/usr/sbin/ip -6 route get $DEST
ExecStartPost=/usr/local/bin/probe-udp

[Install]
WantedBy=multi-user.target
UNIT
  write_shaped_networking
}

# One boot's verdict, appended to $tmp/series: "leak" when the probe got ::beef (or anything
# but ::2), "late" when UNIT's work (PROPERTY, a monotonic timestamp) was not done before the
# probe's process started.
judge_boot() {
  local unit=$1 property=$2 out src udp done start verdict=
  out=$(in_ct cat /run/probe.out)
  done=$(in_ct systemctl show "$unit" -p "$property" --value)
  start=$(in_ct systemctl show probe.service -p ExecMainStartTimestampMonotonic --value)
  src=$(awk '$1 == "'"$DEST"'" { for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1) }' <<<"$out")
  udp=$(awk '$1 == "udp" { print $2 }' <<<"$out")
  [ "$src" = "$KEEP" ] && [ "$udp" = "$KEEP" ] || verdict="leak"
  if ! [ "${done:-0}" -gt 0 ] 2>/dev/null || ! [ "$done" -lt "$start" ]; then
    verdict="${verdict:+$verdict }late"
  fi
  echo "   boot $boots: route src $src, udp $udp, $unit done at $done us, probe started at $start us${verdict:+: $verdict}"
  echo "${verdict:-ok}" >>"$tmp/series"
}

# write_networkd_venet0 [deprecated]: systemd-networkd makes venet0 (a tun) and gives it KEEP and
# HIDE by Address= lines, a default route, and nothing else; with "deprecated", HIDE in an
# [Address] section with PreferredLifetime=0 instead (networkd's own way, without nlsel).
write_networkd_venet0() {
  local hide="Address=$HIDE/80"
  [ "${1:-}" = deprecated ] && hide=$'\n[Address]\n'"Address=$HIDE/80"$'\nPreferredLifetime=0'
  mkdir -p "$root/etc/systemd/network"
  # udev makes /dev/net/tun 0666 on a real host; networkd, not root, opens it to create venet0.
  echo 'z /dev/net/tun 0666 root root -' >"$root/etc/tmpfiles.d/tun.conf"
  cat >"$root/etc/systemd/network/venet0.netdev" <<'EOF'
[NetDev]
Name=venet0
Kind=tun
EOF
  cat >"$root/etc/systemd/network/venet0.network" <<EOF
[Match]
Name=venet0

[Link]
RequiredForOnline=no-carrier

[Network]
ConfigureWithoutCarrier=yes
LinkLocalAddressing=no
IPv6AcceptRA=no
Address=$KEEP/80
$hide

[Route]
Destination=::/0
EOF
}

# write_seed_interfaces [generated]: /etc/network/interfaces shaped like the seed's OpenVZ file
# (venet0 made in pre-up, its addresses added by up lines), under the header OpenVZ's template
# writes when "generated".
write_seed_interfaces() {
  {
    if [ "${1:-}" = generated ]; then
      echo "# This configuration file is auto-generated."
      echo "# WARNING: Do not edit this file, otherwise your changes will be lost."
      echo "# Please edit template /etc/network/interfaces.template instead."
    fi
    cat <<EOF
auto lo
iface lo inet loopback

# Auto generated venet0 interfaces
auto venet0
iface venet0 inet6 static
	address ::2
	netmask 128
	pre-up ip tuntap add dev venet0 mode tun
	up ip -6 r a default dev venet0
	up ip addr add $KEEP/80 dev venet0
	up ip addr add $HIDE/80 dev venet0
	post-down ip tuntap del dev venet0 mode tun
EOF
  } >"$root/etc/network/interfaces"
}

# The monitor stamps every change of ::beef; networkd's reset (preferred forever) and nlsel's
# answer (0sec) are a window measured on the kernel's notifications, not on a poll.
# reset_window LOG: the longest time, in ms (to 0.1), ::beef stayed preferred ("forever") before a
# notification showed it deprecated again (0sec); "none" without a reset, "unanswered" when the
# last reset was never undone.
reset_window() {
  awk -v addr="$HIDE/80" '
    index($0, " " addr " ") == 0 { next }
    { split(substr($1, 2, 26), day, "T"); split(day[2], c, ":"); ms = (c[1] * 3600 + c[2] * 60 + c[3]) * 1000 }
    /preferred_lft forever/ && !open { open = 1; start = ms; resets++ }
    /preferred_lft 0sec/ && open { open = 0; if (ms - start > max) max = ms - start }
    END { if (open) print "unanswered"; else if (!resets) print "none"; else printf "%.1f\n", max }' "$1"
}
monitor_reconfigure() { # monitor_reconfigure LOG: `networkctl reconfigure venet0` under ip monitor.
  monitor_during "$1" in_ct networkctl reconfigure venet0
}
# monitor_during LOG COMMAND...: COMMAND run while `ip monitor` stamps venet0's IPv6 address
# changes into LOG, until HIDE shows up there (or 20 s) and the monitor's 6 s are over.
monitor_during() {
  local log=$1
  shift
  in_ct timeout 6 ip -o -ts -6 monitor address dev venet0 >"$log" 2>&1 &
  local monitor=$!
  # The monitor is subscribed once it shows a marker address; the marker is foreign, so
  # networkd's reconfigure removes it again.
  in_ct ip addr add 2001:db8:ffff::1/128 dev venet0
  until grep -q '2001:db8:ffff::1/128' "$log"; do
    in_ct ip addr change 2001:db8:ffff::1/128 dev venet0 preferred_lft forever
    kill -0 "$monitor" 2>/dev/null || break
  done
  "$@"
  eventually eval "grep -q ' $HIDE/80 .*preferred_lft' '$log'" || true
  # networkd's whole pass and nlsel's answer, then the monitor ends by itself.
  wait "$monitor" || true
}
