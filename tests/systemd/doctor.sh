#!/usr/bin/env bash
# `nlsel doctor` under a real systemd (issue 16's tests): the root, boots and helpers of
# tests/systemd/lib.sh (a minimal Debian booted with systemd-nspawn), four boots:
#   D1. the seed's host: ifupdown-shaped networking.service (venet0 a tun with ::2, ::beef),
#       the seed's own unit (After=network-online.target, `ip addr change` via jq) -> no-unit;
#       no unit at all -> no-unit; nlsel's unit as main c620eee wrote it -> unit-too-late,
#       whose printed commands write this nlsel's unit: enabled and applied -> no problem,
#       exit 0; that unit disabled -> unit-disabled; ::beef preferred again -> not-applied
#       (and the source a problem); malformed and unreadable units -> a warning naming each;
#       a usage error -> 2; use_tempaddr=2 with a SLAAC address the policy keeps (RAs from a
#       router namespace, tests/ra_sender.py) -> privacy-addresses;
#   D2. systemd-networkd with Address= lines for both and the oneshot -> undone-by-networkd;
#       the printed lines written over the line the fix names, `networkctl reload` and
#       `networkctl reconfigure`: ::beef never preferred (ip monitor), preferred_life_time 0
#       (`ip -j`), a UDP socket's source ::2, and doctor exits 0;
#   D3. Debian's ifupdown with the OpenVZ "auto-generated" header and a oneshot without
#       PartOf= -> undone-by-ifupdown giving the unit; without the header, the printed up line
#       replaces the file's and `systemctl restart networking` leaves ::beef deprecated; with
#       it, the printed unit commands run and a restart deprecates ::beef again; malformed and
#       unreadable interfaces files (the main one, sourced ones) -> a warning naming each;
#   D4. netplan (netplan.io rendering to networkd) listing both -> netplan, and no
#       undone-by-networkd for the /run/systemd/network/10-netplan-venet0.network networkd
#       applies; the printed YAML applied with `netplan apply` keeps ::beef deprecated.
# Every doctor run is `-j`: its output must have exactly the documented keys
# ({"findings":[{"level","code","ifname","message","fix"}]}) and its exit status must be 1 when
# a finding is a problem, else 0.
#
# Usage: tests/systemd/doctor.sh PATH/TO/nlsel     (as root; .ci/run passes the static build)
# Needs what tests/systemd/run.sh needs, and jq; skips without them, fails under CI=true.
# NLSEL_SYSTEMD_ROOT=DIR boots a copy of a root tests/systemd/root.sh built (as .ci/run does).
set -euo pipefail

bin=${1:?usage: tests/systemd/doctor.sh PATH/TO/nlsel}
bin=$(realpath "$bin")
here=$(dirname "${BASH_SOURCE[0]}")

# shellcheck source=tests/systemd/lib.sh
source "$here/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
make_root_with_nlsel
N=/usr/local/bin/nlsel
install_probe_udp "$DEST"
install -m 0755 "$here/../ra_sender.py" "$root/usr/local/bin/ra_sender.py"
: >"$tmp/doctor.log"

# doctor ARGS...: `nlsel -j doctor ARGS` in the container as root; its output in $doc, its exit
# status in $doc_rc, both also appended to $tmp/doctor.log (printed when a check failed).
# doctor_as_nobody ARGS...: the same as user nobody.
doctor() { run_doctor root "$@"; }
doctor_as_nobody() { run_doctor nobody "$@"; }
run_doctor() {
  local cmd=($N -j doctor)
  [ "$1" = nobody ] && cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups "${cmd[@]}")
  shift
  doc_rc=0
  doc=$(in_ct "${cmd[@]}" "$@" 2>"$tmp/doctor.err") || doc_rc=$?
  { echo "-- ${cmd[*]} $*: exit $doc_rc"; echo "$doc"; cat "$tmp/doctor.err"; } >>"$tmp/doctor.log"
}

# jqd EXPR [JQ-OPTIONS...]: EXPR holds for doctor's output, which must be one JSON value (an empty
# or broken output fails every check, as jq -e alone would not).
jqd() {
  local expr=$1
  shift
  jq -e -s "$@" "length == 1 and (.[0] | $expr)" <<<"$doc" >/dev/null 2>&1
}
# The documented -j shape, exactly: one key, findings, each with the five keys, a known level, a
# code in lower-case words, a non-empty message, and ifname and fix strings or null.
valid_json() {
  jqd '
    type == "object" and keys == ["findings"] and (.findings | type == "array") and
    all(.findings[];
      type == "object" and keys == ["code", "fix", "ifname", "level", "message"] and
      (.level | IN("problem", "warning", "ok")) and
      (.code | type == "string" and test("^[a-z]+(-[a-z]+)*$")) and
      (.message | type == "string" and length > 0) and
      (.ifname == null or (.ifname | type == "string" and length > 0)) and
      (.fix == null or (.fix | type == "string" and length > 0)))'
}
# Exit 1 when a finding is a problem, else 0.
exit_matches() {
  local want=0
  jqd 'any(.findings[]; .level == "problem")' && want=1
  [ "$doc_rc" = "$want" ]
}
# checked_doctor NAME [nobody] ARGS...: a doctor run and the two checks every run gets.
checked_doctor() {
  local name=$1
  shift
  if [ "${1:-}" = nobody ]; then
    shift
    doctor_as_nobody "$@"
  else
    doctor "$@"
  fi
  check "$name: -j has exactly the documented keys" valid_json
  check "$name: exit $doc_rc, as its findings say" exit_matches
}

# has LEVELS CODE [IFNAME]: a finding with that code (and interface), its level one of LEVELS
# (|-separated).
has() {
  jqd 'any(.findings[]; .code == $code and (.level | IN($levels | split("|")[])) and
    ($ifname == "" or .ifname == $ifname))' --arg levels "$1" --arg code "$2" --arg ifname "${3:-}"
}
lacks() { jqd 'all(.findings[]; .code != $code)' --arg code "$1"; }
no_problem() { [ "$doc_rc" = 0 ] && jqd 'all(.findings[]; .level != "problem")'; }
# fix_of CODE: the fix of the first finding with that code.
fix_of() { jq -r --arg code "$1" 'first(.findings[] | select(.code == $code) | .fix) // ""' <<<"$doc" 2>/dev/null || true; }
message_of() { jq -r --arg code "$1" 'first(.findings[] | select(.code == $code) | .message) // ""' <<<"$doc" 2>/dev/null || true; }
# fix_has CODE TEXT...: that code's fix contains each TEXT.
fix_has() {
  local fix text
  fix=$(fix_of "$1")
  shift
  for text in "$@"; do
    grep -qF -- "$text" <<<"$fix" || { echo "   fix lacks \"$text\": $fix" >&2; return 1; }
  done
}
# warning_names PATH: a warning whose message (or fix) names PATH.
warning_names() {
  jqd 'any(.findings[]; .level == "warning" and
    ((.message | contains($path)) or ((.fix // "") | contains($path))))' --arg path "$1"
}

# apply_fix CODE: the fix of that code's first finding, applied literally in the container.
# "append to FILE:" is followed by lines for FILE (section headers and Key=value lines), "in
# FILE, write line N as:" by the lines that replace line N (indented, or section headers and
# Key=value lines); there may be several, applied in order. Every other line is a command,
# run in order after the files are written.
apply_fix() {
  local fix line mode= file= n=
  local body=() commands=()
  fix=$(fix_of "$1")
  echo "   the fix of $1, applied:"
  sed 's/^/     | /' <<<"$fix"
  while IFS= read -r line; do
    if [[ $line =~ ^append\ to\ (/[^:]+):$ ]]; then
      write_fix_body "$mode" "$file" "$n" "${body[@]}"
      mode=append file=${BASH_REMATCH[1]} body=()
    elif [[ $line =~ ^in\ (/[^,]+),\ write\ line\ ([0-9]+)\ as:$ ]]; then
      write_fix_body "$mode" "$file" "$n" "${body[@]}"
      mode=replace file=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]} body=()
    elif [ -n "$mode" ] && [[ $line =~ ^(\[[A-Za-z]+\]|[A-Za-z]+=.*)$ ]]; then
      body+=("$line")
    elif [ "$mode" = replace ] && [[ $line =~ ^[[:space:]] ]]; then
      body+=("$line")
    elif [ -n "$line" ]; then
      commands+=("$line")
    fi
  done <<<"$fix"
  write_fix_body "$mode" "$file" "$n" "${body[@]}"
  for line in "${commands[@]}"; do
    in_ct sh -c "$line" || echo "   (exit $?: $line)"
  done
}
# write_fix_body MODE FILE N LINE...: one file edit of a fix (none without a MODE).
write_fix_body() {
  local mode=$1 file=$2 n=$3
  shift 3
  case $mode in
    append) printf '\n%s' "$@" >>"$root$file" && echo >>"$root$file" ;;
    replace)
      printf '%s\n' "$@" >"$tmp/fix-lines"
      awk -v n="$n" -v lines="$tmp/fix-lines" \
        'NR == n { while ((getline l < lines) > 0) print l; next } { print }' \
        "$root$file" >"$tmp/fixed" && cat "$tmp/fixed" >"$root$file"
      ;;
  esac
}

# preferred_life_time ADDR: from `ip -j addr show` (the JSON oracle), "absent" without ADDR.
preferred_life_time() {
  in_ct ip -j -6 addr show | jq -r --arg a "$1" '[.[].addr_info[]? | select(.local == $a) |
    .preferred_life_time | tostring] | first // "absent"'
}
udp_source() { in_ct /usr/local/bin/probe-udp | awk '$1 == "udp" { print $2 }'; }
hidden_stays_hidden() { # what -j and a UDP socket say about HIDE and the source
  check "$1: ip -j: ::beef preferred_life_time 0" [ "$(preferred_life_time "$HIDE")" = 0 ]
  check "$1: a UDP socket's source is ::2" [ "$(udp_source)" = "$KEEP" ]
}
has_address() { [ "$(preferred "$1")" != absent ]; }

# nlsel's unit for `deprecate --except ::2` as main c620eee's `nlsel unit` wrote it
# (src/cmd/unit.rs there): After=network-online.target, beside the services it should precede.
write_c620eee_unit() {
  cat >"$root/etc/systemd/system/nlsel.service" <<UNIT
# Written by \`nlsel unit deprecate --except ::2\`.
[Unit]
Description=Choose the IPv6 source address: nlsel deprecate --except ::2
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$N deprecate --except ::2
CapabilityBoundingSet=CAP_NET_ADMIN
NoNewPrivileges=yes
RestrictAddressFamilies=AF_NETLINK AF_UNIX
RestrictNamespaces=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
IPAddressDeny=any
UMask=0077

[Install]
WantedBy=multi-user.target
UNIT
}

# The seed's own script and unit, as its recipe writes them (IFACE=venet0).
write_seed_unit() {
  cat >"$root/usr/local/bin/network-preferredlft.sh" <<'EOT'
#!/bin/bash
set -e
set -o pipefail
ip -j addr show dev $IFACE \
| jq -r '
  .[] | select(.addr_info) | .addr_info[] |
  select(.family=="inet6" and .scope=="global") |
  select(.local | (endswith(":1") or endswith(":2")) | not) |
  "ip addr change "+.local+"/"+(.prefixlen|tostring)+" dev "+env.IFACE+" preferred_lft 0"' \
| sh
EOT
  chmod +x "$root/usr/local/bin/network-preferredlft.sh"
  cat >"$root/etc/systemd/system/network-preferredlft.service" <<'EOT'
[Unit]
Description=Change preferred_lft
Documentation=https://yoursunny.com/t/2020/preferred-lft-vz7/
After=network-online.target
Wants=network-online.target

[Service]
Environment="IFACE=venet0"
Type=oneshot
ExecStart=/usr/local/bin/network-preferredlft.sh

[Install]
WantedBy=multi-user.target
EOT
}

# (Re)writes and enables this nlsel's unit nlsel.service and applies it now, from HIDE preferred.
fresh_unit() {
  write_unit nlsel $N unit deprecate --except ::2 "$@"
  in_ct systemctl daemon-reload
  in_ct systemctl enable --quiet nlsel.service
  in_ct ip addr change "$HIDE/80" dev venet0 preferred_lft forever
  in_ct systemctl restart nlsel.service
}

echo "== D1. the seed's host: ifupdown-shaped networking.service"
t=$SECONDS
write_shaped_networking
write_seed_unit
systemctl --root="$root" enable --quiet networking.service network-preferredlft.service
boot
check "seed host: the seed's unit deprecated ::beef at boot (it ran)" eventually is_deprecated "$HIDE"
checked_doctor "seed's unit"
check "seed's unit: no-unit (it does not run nlsel)" has problem no-unit
check "seed's unit: the fix gives nlsel unit and systemctl enable --now" \
  fix_has no-unit "nlsel unit" "systemctl enable --now"

in_ct systemctl disable --quiet network-preferredlft.service
rm "$root/etc/systemd/system/network-preferredlft.service"
in_ct systemctl daemon-reload
checked_doctor "no unit"
check "no unit: no-unit" has problem no-unit

write_c620eee_unit
in_ct systemctl daemon-reload
in_ct systemctl enable --quiet nlsel.service
in_ct ip addr change "$HIDE/80" dev venet0 preferred_lft forever
in_ct systemctl start nlsel.service
check "c620eee's unit: applied" is_deprecated "$HIDE"
checked_doctor "c620eee's unit"
check "c620eee's unit: unit-too-late" has problem unit-too-late
check "c620eee's unit: the fix regenerates it with nlsel unit" fix_has unit-too-late "nlsel unit"
check "c620eee's unit: neither no-unit nor not-applied" eval 'lacks no-unit && lacks not-applied'

apply_fix unit-too-late # nlsel unit … > the unit's file, daemon-reload, reenable, restart
check "c620eee's unit, regenerated: Before=network-online.target" \
  grep -qx 'Before=network-online.target' "$root/etc/systemd/system/nlsel.service"
fresh_unit # the same unit, applied from ::beef preferred
check "this unit: applied" is_deprecated "$HIDE"
checked_doctor "this unit"
check "this unit: no problem, exit 0" no_problem
check "this unit: the default probe's source is ok" has ok source
checked_doctor "this unit, --probe DEST" --probe "$DEST"
check "this unit, --probe DEST: no problem, exit 0" no_problem
check "this unit, --probe DEST: source ok" has ok source
checked_doctor "this unit, --dev venet0" --dev venet0
check "this unit, --dev venet0: no problem, exit 0" no_problem

in_ct systemctl disable --quiet nlsel.service
checked_doctor "disabled unit"
check "disabled unit: unit-disabled" has problem unit-disabled
check "disabled unit: the fix is systemctl enable nlsel" fix_has unit-disabled "systemctl enable nlsel"
in_ct systemctl enable --quiet nlsel.service

in_ct ip addr change "$HIDE/80" dev venet0 preferred_lft forever
checked_doctor "not applied" --probe "$DEST"
check "not applied: not-applied" has problem not-applied
check "not applied: the fix restarts the unit and names its journal" \
  fix_has not-applied "systemctl restart nlsel" "journalctl -u nlsel"
check "not applied: the source ::beef is a problem" has problem source
in_ct systemctl restart nlsel.service
checked_doctor "restarted"
check "restarted: no problem, exit 0" no_problem

# A unit whose ExecStart cannot be split (an open quote), one whose nlsel arguments do not
# parse, one only root can read. (The interfaces files' turn is in D3: with this unit's
# PartOf=networking.service, doctor has no reason to read them.)
printf '[Service]\nType=oneshot\nExecStart=%s deprecate --except "::2\n' "$N" \
  >"$root/etc/systemd/system/nlsel-quote.service"
printf '[Service]\nType=oneshot\nExecStart=%s deprecate --bogus ::2\n' "$N" \
  >"$root/etc/systemd/system/nlsel-bogus.service"
printf '[Service]\nType=oneshot\nExecStart=%s deprecate --except ::2\n' "$N" \
  >"$root/etc/systemd/system/nlsel-secret.service"
chmod 0600 "$root/etc/systemd/system/nlsel-secret.service"
checked_doctor "malformed units"
check "malformed units: a warning names the unit with an open quote" \
  warning_names /etc/systemd/system/nlsel-quote.service
# A usage error in ExecStart= fails the unit at every start: a problem naming its file.
check "malformed units: not-applied, a problem naming the file whose nlsel arguments do not parse" \
  jqd 'any(.findings[]; .level == "problem" and .code == "not-applied" and
    (.message | contains("/etc/systemd/system/nlsel-bogus.service")))'
checked_doctor "unreadable unit" nobody
check "unreadable unit: a warning names the unit nobody can read" \
  warning_names /etc/systemd/system/nlsel-secret.service
rm "$root/etc/systemd/system/nlsel-"{quote,bogus,secret}.service

status=0
in_ct $N doctor --bogus >/dev/null 2>&1 || status=$?
check "usage error: exit 2 ($status)" [ "$status" = 2 ]

# A router namespace sends RAs for 2001:db8:5::/64 to ra0 (use_tempaddr=2, MAC fixed so the
# SLAAC address is 2001:db8:5::ff:fe00:5); a unit prefers that address.
SLAAC=2001:db8:5::ff:fe00:5
in_ct ip netns add router
in_ct ip link add ra0 address 02:00:00:00:00:05 type veth peer name ra0p netns router
# (/proc/sys/net is the writer's namespace's: written from inside, never from the host.)
sysctl_ct() { in_ct sh -c "echo $2 >/proc/sys/net/ipv6/conf/$1"; }
sysctl_ct ra0/use_tempaddr 2
sysctl_ct ra0/accept_dad 0
sysctl_ct ra0/accept_ra 1
in_ct ip netns exec router sh -c 'echo 0 >/proc/sys/net/ipv6/conf/ra0p/accept_dad'
in_ct ip link set ra0 up
in_ct ip -n router link set ra0p up
temporaries() { in_ct ip -j -6 addr show dev ra0 | jq -e '[.[].addr_info[] | select(.temporary)] | length > 0' >/dev/null; }
ra_until_temporary() { in_ct ip netns exec router python3 /usr/local/bin/ra_sender.py ra0p 2001:db8:5:: 7200 3600 >/dev/null && temporaries; }
check "privacy: a SLAAC address and its temporary" eventually ra_until_temporary
write_unit nlsel-ra $N unit prefer "$SLAAC"
in_ct systemctl daemon-reload
in_ct systemctl enable --quiet --now nlsel-ra.service
checked_doctor "privacy addresses"
check "privacy addresses: privacy-addresses on ra0" has "problem|warning" privacy-addresses ra0
check "privacy addresses: the fix sets use_tempaddr and names /etc/sysctl.d/" \
  fix_has privacy-addresses "net.ipv6.conf.ra0.use_tempaddr=" "/etc/sysctl.d/"
sysctl_ct ra0/use_tempaddr 0
checked_doctor "use_tempaddr=0"
check "use_tempaddr=0: no privacy-addresses" lacks privacy-addresses
in_ct systemctl disable --quiet nlsel-ra.service
rm "$root/etc/systemd/system/nlsel-ra.service"
stop_container
echo "   took $((SECONDS - t)) s"

echo "== D2. systemd-networkd with Address= lines and the oneshot"
t=$SECONDS
systemctl --root="$root" disable --quiet networking.service
write_networkd_venet0
systemctl --root="$root" enable --quiet systemd-networkd.service
boot
check "networkd: configured venet0" eventually has_address "$HIDE"
in_ct systemctl restart nlsel.service
check "networkd: the oneshot deprecated ::beef" is_deprecated "$HIDE"
checked_doctor "networkd"
check "networkd: undone-by-networkd on venet0" has problem undone-by-networkd venet0
check "networkd: the fix has PreferredLifetime=0 for ::beef" fix_has undone-by-networkd "$HIDE" PreferredLifetime=0
monitor_reconfigure "$tmp/undone.log"
check "networkd: reconfigure does set ::beef preferred again (the test sees it)" \
  grep -q " $HIDE/80 .*preferred_lft forever" "$tmp/undone.log"
in_ct systemctl restart nlsel.service

apply_fix undone-by-networkd # with its networkctl reload
check "networkd, fixed: one definition of ::beef in venet0.network, in an [Address] section" \
  [ "$(grep -c "^Address=$HIDE/80\$" "$root/etc/systemd/network/venet0.network")" = 1 ]
check "networkd, fixed: networkd warned of no duplicated address" \
  eval '! in_ct journalctl -u systemd-networkd -o cat --no-pager | grep -i "duplicated address"'
check "networkd, fixed: ::2 still preferred" is_preferred_forever "$KEEP"
monitor_reconfigure "$tmp/fixed.log"
check "networkd, fixed: ::beef never preferred across reconfigure" \
  eval '! grep -q " $HIDE/80 .*preferred_lft forever" "$tmp/fixed.log"'
check "networkd, fixed: ::beef still there" has_address "$HIDE"
hidden_stays_hidden "networkd, fixed"
checked_doctor "networkd, fixed"
check "networkd, fixed: no problem, exit 0" no_problem
stop_container
rm -rf "$root/etc/systemd/network/venet0.network"*
systemctl --root="$root" disable --quiet systemd-networkd.service
echo "   took $((SECONDS - t)) s"

echo "== D3. Debian's ifupdown, /etc/network/interfaces auto-generated (OpenVZ)"
t=$SECONDS
rm "$root/etc/systemd/system/networking.service" "$root/etc/systemd/network/venet0.netdev"
systemctl --root="$root" enable --quiet networking.service
write_seed_interfaces generated
# The oneshot without PartOf=networking.service: nothing runs it again after a restart.
sed -i '/^PartOf=/d' "$root/etc/systemd/system/nlsel.service"
boot
check "ifupdown: ::beef deprecated at boot" eventually is_deprecated "$HIDE"
checked_doctor "ifupdown, generated"
check "ifupdown, generated: undone-by-ifupdown on venet0" has problem undone-by-ifupdown venet0
check "ifupdown, generated: it says the file is generated" \
  eval 'message_of undone-by-ifupdown | grep -qi generated || fix_of undone-by-ifupdown | grep -qi generated'
check "ifupdown, generated: the fix is the unit, not an edit of the file" \
  eval 'fix_has undone-by-ifupdown "nlsel unit" && ! fix_of undone-by-ifupdown | grep -q "preferred_lft 0"'
# Malformed and unreadable interfaces files: an option outside any stanza in the main file;
# a file it sources with the same; a sourced file only root can read (doctor run as nobody).
cp "$root/etc/network/interfaces" "$tmp/interfaces"
{ printf '    address 2001:db8::5\n'; cat "$tmp/interfaces"; } >"$root/etc/network/interfaces"
checked_doctor "malformed interfaces"
check "malformed interfaces: a warning names /etc/network/interfaces" warning_names /etc/network/interfaces
{ cat "$tmp/interfaces"; echo "source /etc/network/interfaces.d/*"; } >"$root/etc/network/interfaces"
mkdir -p "$root/etc/network/interfaces.d"
printf 'iface\n' >"$root/etc/network/interfaces.d/broken"
printf 'auto lo\n' >"$root/etc/network/interfaces.d/secret"
chmod 0600 "$root/etc/network/interfaces.d/secret"
checked_doctor "malformed sourced file"
check "malformed sourced file: a warning names it" warning_names /etc/network/interfaces.d/broken
checked_doctor "unreadable sourced file" nobody
check "unreadable sourced file: a warning names it" warning_names /etc/network/interfaces.d/secret
check "unreadable sourced file: undone-by-ifupdown still found" has problem undone-by-ifupdown venet0
rm "$root/etc/network/interfaces.d/"{broken,secret}
cp "$tmp/interfaces" "$root/etc/network/interfaces"

in_ct systemctl restart networking.service
check "ifupdown: a restart does leave ::beef preferred (the test sees it)" eventually is_preferred_forever "$HIDE"
in_ct systemctl restart nlsel.service

write_seed_interfaces # the same file, as a user's own
checked_doctor "ifupdown, hand-written"
check "ifupdown, hand-written: undone-by-ifupdown on venet0" has problem undone-by-ifupdown venet0
check "ifupdown, hand-written: the fix is the up line with preferred_lft 0" \
  fix_has undone-by-ifupdown "$HIDE" "preferred_lft 0"
apply_fix undone-by-ifupdown
in_ct systemctl restart networking.service
check "ifupdown, line fixed: ::beef deprecated after systemctl restart networking" is_deprecated "$HIDE"
hidden_stays_hidden "ifupdown, line fixed"
checked_doctor "ifupdown, line fixed"
check "ifupdown, line fixed: no undone-by-ifupdown, exit 0" eval 'lacks undone-by-ifupdown && no_problem'

write_seed_interfaces generated
in_ct systemctl restart networking.service
in_ct systemctl restart nlsel.service
checked_doctor "ifupdown, generated again"
apply_fix undone-by-ifupdown # the unit's commands
check "ifupdown, unit fixed: the unit is PartOf=networking.service" \
  grep -qx 'PartOf=networking.service' "$root/etc/systemd/system/nlsel.service"
in_ct systemctl restart networking.service
check "ifupdown, unit fixed: ::beef deprecated again after systemctl restart networking" \
  eventually is_deprecated "$HIDE"
hidden_stays_hidden "ifupdown, unit fixed"
checked_doctor "ifupdown, unit fixed"
check "ifupdown, unit fixed: no undone-by-ifupdown, exit 0" eval 'lacks undone-by-ifupdown && no_problem'
stop_container
echo "   took $((SECONDS - t)) s"

echo "== D4. netplan rendering to systemd-networkd"
t=$SECONDS
systemctl --root="$root" disable --quiet networking.service
printf 'auto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
write_networkd_venet0 # the tun venet0.netdev; netplan does the rest
rm "$root/etc/systemd/network/venet0.network"
mkdir -p "$root/etc/netplan"
netplan_file=/etc/netplan/50-venet0.yaml
cat >"$root$netplan_file" <<EOF
network:
  version: 2
  renderer: networkd
  ethernets:
    venet0:
      ignore-carrier: true
      link-local: []
      accept-ra: false
      addresses:
        - $KEEP/80
        - $HIDE/80
      routes:
        - to: "::/0"
          scope: link
EOF
chmod 0600 "$root$netplan_file"
# netplan's generator pulls in systemd-networkd-wait-online, which waits for a carrier the tun
# never gets (the boot would end "degraded"); nothing here waits for the network.
systemctl --root="$root" enable --quiet systemd-networkd.service
systemctl --root="$root" mask --quiet systemd-networkd-wait-online.service
# udev does not run in a container (/sys is read-only): `netplan apply`'s udevadm calls (trigger,
# test-builtin net_setup_link) would fail it before it reaches networkd, so udevadm is a no-op
# here, ahead of PATH. What matters, the rendering and networkd's reload, is netplan's own.
printf '#!/bin/sh\nexit 0\n' >"$root/usr/local/sbin/udevadm"
chmod 0755 "$root/usr/local/sbin/udevadm"
boot
check "netplan: networkd configured venet0" eventually has_address "$HIDE"
in_ct systemctl restart nlsel.service
check "netplan: the oneshot deprecated ::beef" is_deprecated "$HIDE"
checked_doctor "netplan"
check "netplan: netplan on venet0" has problem netplan venet0
check "netplan: networkd applied the file netplan generated" \
  in_ct grep -qx "NETWORK_FILE=/run/systemd/network/10-netplan-venet0.network" \
  "/run/systemd/netif/links/$(in_ct cat /sys/class/net/venet0/ifindex)"
check "netplan: no undone-by-networkd for that file (netplan would undo its fix)" lacks undone-by-networkd
check "netplan: the fix gives lifetime: 0 for ::beef" fix_has netplan "$HIDE" "lifetime: 0"
monitor_during "$tmp/netplan-undone.log" in_ct netplan apply
check "netplan: netplan apply does set ::beef preferred again (the test sees it)" \
  grep -q " $HIDE/80 .*preferred_lft forever" "$tmp/netplan-undone.log"
in_ct systemctl restart nlsel.service
monitor_during "$tmp/netplan.log" apply_fix netplan # with its netplan apply
check "netplan, fixed: ::beef never preferred across netplan apply" \
  eval '! grep -q " $HIDE/80 .*preferred_lft forever" "$tmp/netplan.log"'
check "netplan, fixed: ::beef still there" eventually has_address "$HIDE"
hidden_stays_hidden "netplan, fixed"
checked_doctor "netplan, fixed"
check "netplan, fixed: no problem, exit 0" no_problem
stop_container
echo "   took $((SECONDS - t)) s"

if [ "$failed" != 0 ]; then
  echo "== doctor's runs" >&2
  cat "$tmp/doctor.log" >&2
fi
echo "systemd doctor: $passed passed, $failed failed, $boots boots"
[ "$failed" = 0 ]
