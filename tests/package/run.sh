#!/usr/bin/env bash
# The Debian package under a real systemd: the minimal Debian root of tests/systemd/run.sh
# (its harness, tests/systemd/lib.sh), with man-db and bash-completion, booted in
# systemd-nspawn with the ifupdown-shaped networking.service (venet0 with ::2, then ::beef)
# and the boot probe. Checks, with iproute2 inside as the oracle:
#   1. `apt install ./nlsel_VERSION_amd64.deb` installs it, without network;
#   2. `man -w nlsel` finds the page, and bash completes `nlsel dep<TAB>` to deprecate through
#      bash-completion's loader (the script is found by name, not sourced by hand);
#   3. installing, and starting the unit before /etc/default/nlsel is set, change no address
#      (the start is skipped by ExecCondition=, not failed), and the package enabled nothing;
#   4. with NLSEL_ARGS="deprecate --except ::2 --watch", `systemctl enable --now nlsel`
#      deprecates ::beef; after a reboot it is deprecated again and the probe after
#      network-online.target never saw it (the harness's leak and order check);
#   5. `apt purge nlsel` leaves nothing: `dpkg -S` knows none of its files, and the root's
#      files (path, type, mode, owner; the content under /etc) equal those before the install,
#      but for what the boots themselves change (logs, journals, caches, apt's and dpkg's
#      records, systemd's random seed and timers).
#
# Usage: tests/package/run.sh dist/nlsel_VERSION_amd64.deb    (as root; .ci/run passes it)
# Needs what tests/systemd/run.sh needs; skips without it, except under CI=true.
# NLSEL_SYSTEMD_ROOT=DIR boots a copy of a root tests/systemd/root.sh built (as .ci/run does).
set -euo pipefail

deb=${1:?usage: tests/package/run.sh PATH/TO/nlsel_VERSION_amd64.deb}
deb=$(realpath "$deb")

# shellcheck source=tests/systemd/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../systemd/lib.sh"

[ -f "$deb" ] || skip "$deb is not a file"

# The root's files, one line each, without what boots and apt change by themselves.
snapshot() {
  (cd "$root" && find . -xdev \
    \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp -o -path ./var/tmp \
    -o -path ./var/log -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/lib/dpkg \
    -o -path ./var/lib/systemd/random-seed -o -path ./var/lib/systemd/timers -o -path ./var/lib/systemd/linger \
    -o -path ./var/lib/systemd/catalog -o -path ./var/lib/dbus -o -path ./etc/machine-id -o -path ./root \
    -o -path ./etc/ld.so.cache \) -prune -o -printf '%p %y %m %u:%g\n' | LC_ALL=C sort
  find ./etc -xdev -type f ! -path ./etc/machine-id ! -path ./etc/ld.so.cache -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum)
}

# Every address line of the container, lifetimes included (all are forever here).
addresses() { in_ct ip -6 -o addr show | sed 's/\\ *$//'; }

make_root # ROOT_PACKAGES has man-db and bash-completion
install_boot_probe
systemctl --root="$root" enable --quiet probe.service networking.service
cp "$deb" "$root/var/tmp/"
pkgfile=/var/tmp/$(basename "$deb")
snapshot >"$tmp/before"

echo "== 1. apt install ./$(basename "$deb")"
boot
check "both addresses preferred before the install" \
  eval 'is_preferred_forever "$KEEP" && is_preferred_forever "$HIDE"'
addresses >"$tmp/addr-before"
check "apt install $pkgfile" \
  eval 'in_ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkgfile" >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; false; }'
check "nlsel --version runs from /usr/sbin" in_ct /usr/sbin/nlsel --version

echo "== 2. man page and bash completion"
check "man -w nlsel: /usr/share/man/man8/nlsel.8.gz" \
  eval '[ "$(in_ct man -w nlsel)" = /usr/share/man/man8/nlsel.8.gz ]'
# An interactive-like bash: bash-completion's loader finds the script by the command's name.
completion=$(in_ct bash -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader nlsel
  func=$(complete -p nlsel | awk "{ print \$(NF - 1) }")
  COMP_WORDS=(nlsel dep); COMP_CWORD=1; COMP_LINE="nlsel dep"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$func" nlsel dep nlsel
  printf "%s\n" "${COMPREPLY[@]}"' 2>&1 || true)
check "bash completes 'nlsel dep<TAB>' to deprecate through the loader (got: $(echo $completion))" \
  [ "$completion" = deprecate ]
check "zsh and fish completions in their vendor directories" \
  in_ct test -f /usr/share/zsh/vendor-completions/_nlsel -a -f /usr/share/fish/vendor_completions.d/nlsel.fish

echo "== 3. installed, not configured: no change"
check "the package enabled nothing (is-enabled: disabled)" \
  eval '[ "$(in_ct systemctl is-enabled nlsel.service)" = disabled ]'
check "systemctl start nlsel with NLSEL_ARGS empty: succeeds" in_ct systemctl start nlsel.service
check "... and was skipped by ExecCondition=, not run" \
  eval '[ "$(in_ct systemctl show nlsel.service -p ExecMainPID --value)" = 0 ] &&
    in_ct journalctl -u nlsel.service -o cat --no-pager | grep -q "skipped"'
addresses >"$tmp/addr-after"
check "no address changed by the install or the start" cmp -s "$tmp/addr-before" "$tmp/addr-after"
cmp -s "$tmp/addr-before" "$tmp/addr-after" || diff "$tmp/addr-before" "$tmp/addr-after" >&2 || true

echo "== 4. configured and enabled; then a reboot"
in_ct sed -i 's/^NLSEL_ARGS=.*/NLSEL_ARGS="deprecate --except ::2 --watch"/' /etc/default/nlsel
check "systemctl enable --now nlsel" in_ct systemctl enable --now --quiet nlsel.service
check "enable --now: ::beef deprecated" eventually is_deprecated "$HIDE"
check "enable --now: ::2 stays preferred" is_preferred_forever "$KEEP"
check "enable --now: Type=notify and active" \
  eval '[ "$(in_ct systemctl show nlsel.service -p Type --value)" = notify ] && in_ct systemctl is-active --quiet nlsel.service'
stop_container
: >"$tmp/series"
boot
judge_boot nlsel.service ActiveEnterTimestampMonotonic
check "reboot: ::beef deprecated" eventually is_deprecated "$HIDE"
check "reboot: the probe after network-online.target never saw ::beef" eval '! grep -q leak "$tmp/series"'
check "reboot: nlsel.service ready before the probe started" eval '! grep -q late "$tmp/series"'

echo "== 5. apt purge nlsel"
files=$(in_ct dpkg -L nlsel | while read -r f; do [ -f "$root$f" ] && echo "$f"; done)
check "apt purge nlsel" \
  eval 'in_ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q nlsel >"$tmp/apt.log" 2>&1 ||
    { cat "$tmp/apt.log" >&2; false; }'
check "dpkg -S knows none of its $(wc -w <<<"$files") files" \
  eval '[ -n "$files" ] && [ -z "$(in_ct dpkg -S $files 2>/dev/null || true)" ]'
stop_container
snapshot >"$tmp/after"
check "the file system equals the one before the install" cmp -s "$tmp/before" "$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || diff "$tmp/before" "$tmp/after" >&2 || true

echo "package: $passed passed, $failed failed, $boots boots"
[ "$failed" = 0 ]
