#!/usr/bin/env bash
# nlsel on other kernels: boots Debian 11's 5.10 and Debian 12's 6.1 kernels under QEMU and runs
# tests/kernels/guest.sh there as init. Each root is made by mmdebstrap (minbase with the suite's
# linux-image-amd64, iproute2, jq, kmod and udev for the initramfs), gets the nlsel binary given
# as $1 at /usr/local/bin/nlsel and the guest script at /test.sh, and becomes an ext4 image
# (mkfs.ext4 -d) booted with the root's own kernel and initrd. The guest prints one
# `KCHECK ok NAME` or `KCHECK FAILED NAME: DETAIL` line per check, then `KCHECK done`; this
# script fails on any failure, a missing check, a missing `KCHECK done`, a kernel of the wrong
# series, or a guest that does not finish within its timeout.
#
# Usage: tests/kernels/run.sh PATH/TO/nlsel     (as root; .ci/run passes the static musl build)
# Needs mmdebstrap, qemu-system-x86_64 and mkfs.ext4 (Debian packages mmdebstrap,
# qemu-system-x86, e2fsprogs) and the Debian mirror. Without them it skips with a reason,
# except under CI=true, where it fails. Everything lives in one temporary directory, removed
# on exit; nothing is cached between runs.
#
# Environment: NLSEL_KERNELS_SUITES (default "bullseye bookworm"), NLSEL_KERNELS_ACCEL (default
# tcg: KVM guests stall on these machines, see shared/FACTS.md), NLSEL_KERNELS_TIMEOUT (seconds
# per guest, default 900), NLSEL_KERNELS_APPEND (more kernel command-line words, e.g.
# KCHECK_ONLY=seed-veth,seed-tun), NLSEL_KERNELS_KEEP=1 keeps the temporary directory.
set -euo pipefail

bin=${1:?usage: tests/kernels/run.sh PATH/TO/nlsel}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

skip() {
  if [ "${CI:-}" = true ]; then
    echo "kernel test: cannot run under CI=true: $*" >&2
    exit 1
  fi
  echo "kernel test: skipped: $*" >&2
  exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root"
for tool in mmdebstrap qemu-system-x86_64 mkfs.ext4 timeout; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[ -x "$bin" ] || skip "$bin is not an executable"
bin=$(realpath "$bin")

read -r -a suites <<<"${NLSEL_KERNELS_SUITES:-bullseye bookworm}"
accel=${NLSEL_KERNELS_ACCEL:-tcg}
guest_timeout=${NLSEL_KERNELS_TIMEOUT:-900}
# The checks every guest must report (guest.sh's CHECKS, unless KCHECK_ONLY narrows them).
checks=(seed-veth seed-tun show-parity which-explain check-exit watch-readd race-churn)
if [[ ${NLSEL_KERNELS_APPEND:-} =~ KCHECK_ONLY=([^ ]*) ]]; then
  IFS=, read -r -a checks <<<"${BASH_REMATCH[1]}"
fi

series() { # the kernel series each suite ships
  case $1 in
    bullseye) echo 5.10 ;;
    bookworm) echo 6.1 ;;
    *) echo "" ;;
  esac
}

# The mirror this machine's apt uses: the first URIs: of the Debian (not -security) entry.
mirror=
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
fi
mirror=${mirror:-http://deb.debian.org/debian}

tmp=$(mktemp -d /var/tmp/nlsel-kernels.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${NLSEL_KERNELS_KEEP:-}" = 1 ]; then
    echo "kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

start=$SECONDS
echo "mirror: $mirror; suites: ${suites[*]}; accel: $accel; guest timeout: ${guest_timeout} s"

# 1. The roots, built side by side: most of the time goes to downloads and dpkg. A root is
# thrown away after one boot, so dpkg need not sync. Documentation and every driver outside
# drivers/{net,block,virtio} (graphics, sound, media, wireless, ...: hardware the guest does
# not have) are left out, and the initramfs holds only what mounts a virtio disk: less to
# unpack, to pack into the initramfs, to copy into the image and to load at boot.
dpkgopts=(--dpkgopt=force-unsafe-io)
for path in /usr/share/doc /usr/share/man /usr/share/locale /usr/share/info; do
  dpkgopts+=("--dpkgopt=path-exclude=$path/*")
done
for modules in /lib/modules /usr/lib/modules; do
  dpkgopts+=("--dpkgopt=path-exclude=$modules/*/kernel/drivers/*")
  for dir in net block virtio; do
    dpkgopts+=("--dpkgopt=path-include=$modules/*/kernel/drivers/$dir/*")
  done
  for dir in drivers/net/wireless sound; do
    dpkgopts+=("--dpkgopt=path-exclude=$modules/*/kernel/$dir/*")
  done
done
# Written before any package is unpacked: initramfs-tools reads conf.d and modules.d.
# shellcheck disable=SC2016 # expanded by the hook's shell
initramfs_hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d" &&
  echo MODULES=list >"$1/etc/initramfs-tools/conf.d/nlsel-kernels" &&
  printf "%s\n" virtio_pci virtio_blk ext4 >"$1/usr/share/initramfs-tools/modules.d/nlsel-kernels"'

# One suite, start to end: root, image, boot. The two suites run side by side, so one's dpkg
# and mkfs overlap the other's downloads and boot; each guest has one virtual CPU (the machine
# has two cores). A setup failure leaves its reason in $tmp/SUITE.error.
suite_run() {
  local suite=$1 t0=$SECONDS
  local root=$tmp/root-$suite
  if ! mmdebstrap --variant=minbase --include=linux-image-amd64,iproute2,jq,kmod,udev \
    "${dpkgopts[@]}" --setup-hook="$initramfs_hook" "$suite" "$root" "deb $mirror $suite main" \
    >"$tmp/mmdebstrap-$suite.log" 2>&1 </dev/null; then
    tail -n 30 "$tmp/mmdebstrap-$suite.log" >"$tmp/$suite.error"
    echo "mmdebstrap $suite failed" >>"$tmp/$suite.error"
    return 1
  fi
  echo "$suite: root built in $((SECONDS - t0)) s"
  # The root with nlsel and the guest script, as an ext4 image; its kernel and initrd beside.
  install -m 0755 "$bin" "$root/usr/local/bin/nlsel"
  install -m 0755 "$here/guest.sh" "$root/test.sh"
  local kernels=("$root"/boot/vmlinuz-*) initrds=("$root"/boot/initrd.img-*)
  if [ "${#kernels[@]}" != 1 ] || [ ! -f "${kernels[0]}" ] || [ "${#initrds[@]}" != 1 ] || [ ! -f "${initrds[0]}" ]; then
    echo "$suite: want one kernel and one initrd in /boot: $(ls "$root/boot")" >"$tmp/$suite.error"
    return 1
  fi
  cp "${kernels[0]}" "$tmp/vmlinuz-$suite"
  cp "${initrds[0]}" "$tmp/initrd-$suite"
  # Room for the root plus scratch space for the checks.
  local size_mb=$(($(du -sm "$root" | cut -f1) + 256))
  if ! mkfs.ext4 -q -F -L "nlsel-$suite" -d "$root" "$tmp/$suite.img" "${size_mb}M" >"$tmp/mkfs-$suite.log" 2>&1; then
    { cat "$tmp/mkfs-$suite.log"; echo "mkfs.ext4 -d failed"; } >"$tmp/$suite.error"
    return 1
  fi
  rm -rf "$root"
  echo "$suite: image made at $((SECONDS - t0)) s"
  local t1=$SECONDS rc=0
  timeout --kill-after=10 "$guest_timeout" qemu-system-x86_64 -accel "$accel" -m 1024 -smp 1 \
    -kernel "$tmp/vmlinuz-$suite" -initrd "$tmp/initrd-$suite" \
    -drive "file=$tmp/$suite.img,format=raw,if=virtio" -net none \
    -append "root=/dev/vda rw console=ttyS0 init=/test.sh panic=1 ${NLSEL_KERNELS_APPEND:-}" \
    -nographic -no-reboot </dev/null >"$tmp/console-$suite.raw" 2>&1 || rc=$?
  echo "$rc" >"$tmp/$suite.qemu-rc"
  echo "$suite: guest ran $((SECONDS - t1)) s; $((SECONDS - t0)) s in all"
}

declare -A run_pid
for suite in "${suites[@]}"; do
  [ -n "$(series "$suite")" ] || { echo "kernel test: unknown suite $suite" >&2; exit 1; }
  suite_run "$suite" &
  run_pid[$suite]=$!
  pids+=("$!")
done

failed=0
passed=0
bad=0
for suite in "${suites[@]}"; do
  if ! wait "${run_pid[$suite]}"; then
    cat "$tmp/$suite.error" >&2 || true
    echo "kernel test: $suite: could not set up the guest" >&2
    bad=1
    failed=$((failed + ${#checks[@]}))
    continue
  fi
  rc=$(cat "$tmp/$suite.qemu-rc")
  log=$tmp/console-$suite.log
  tr -d '\r' <"$tmp/console-$suite.raw" >"$log"
  problems=()
  [ "$rc" = 0 ] || problems+=("qemu exited $rc$([ "$rc" = 124 ] && echo " (the guest did not finish within ${guest_timeout} s)")")
  release=$(sed -n 's/^KCHECK kernel //p' "$log" | head -n 1)
  want=$(series "$suite")
  [[ $release == "$want".* ]] || problems+=("booted kernel '${release}', want $want.*")
  for c in "${checks[@]}"; do
    if grep -qx "KCHECK ok $c" "$log"; then
      passed=$((passed + 1))
    elif grep -q "^KCHECK FAILED $c: " "$log"; then
      problems+=("$(grep "^KCHECK FAILED $c: " "$log" | head -n 1)")
    else
      problems+=("no result for $c")
    fi
    grep -qx "KCHECK ok $c" "$log" || failed=$((failed + 1))
  done
  grep -qx 'KCHECK done' "$log" || problems+=("no 'KCHECK done'")
  echo "== $suite: kernel ${release:-unknown}"
  grep -E '^(  \||KCHECK )' "$log" || true
  if [ "${#problems[@]}" -gt 0 ]; then
    bad=1
    echo "---- console of the $suite guest (last 80 lines) ----" >&2
    tail -n 80 "$log" >&2
    for problem in "${problems[@]}"; do
      echo "kernel test: $suite: $problem" >&2
    done
  fi
done

echo "kernels: $passed passed, $failed failed"
echo "kernel test took $((SECONDS - start)) s"
[ "$bad" = 0 ]
