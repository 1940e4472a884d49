#!/usr/bin/env bash
# Builds the Debian packages of nlsel from the release binaries, with dpkg-deb alone:
#
#   tools/release.sh && tools/deb.sh [ARCH...]      default: amd64 arm64
#
# Writes dist/nlsel_VERSION-1_ARCH.deb (VERSION from Cargo.toml; -1 is the Debian revision)
# from dist/nlsel-VERSION-TARGET, and prints each package's size and sha256. Contents:
#   /usr/sbin/nlsel                                  the static release binary
#   /usr/share/man/man8/nlsel.8.gz                   doc/nlsel.8
#   /usr/share/bash-completion/completions/nlsel     src/cmd/completions/, as `nlsel
#   /usr/share/zsh/vendor-completions/_nlsel           completions SHELL` prints them, with
#   /usr/share/fish/vendor_completions.d/nlsel.fish    their comments
#   /usr/share/doc/nlsel/{copyright,changelog.gz,changelog.Debian.gz}
#   /lib/systemd/system/nlsel.service                the unit `nlsel unit deprecate --except ::2
#                                                    --watch` prints, its command taken from
#   /etc/default/nlsel (conffile)                    NLSEL_ARGS here: empty, the unit does
#                                                    nothing (ExecCondition=), so installing
#                                                    changes no address; not enabled.
# The maintainer scripts are dh_installsystemd's (--no-enable --no-start) snippets, so that
# `apt purge` also removes the links of an admin's `systemctl enable`.
#
# Reproducible: every time (file mtimes, the changelog's date, dpkg-deb's ar and tar headers
# through SOURCE_DATE_EPOCH) is the last commit's; owners are root:root, modes are set
# explicitly, gzip stores no name or time, and dpkg-deb sorts the members. Two runs of one
# commit give the same sha256 (tests/package/build.sh checks it, and lintian).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

arches=("$@")
if [ "${#arches[@]}" -eq 0 ]; then
  arches=(amd64 arm64)
fi
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
debversion=$version-1
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || true)}
if [ -z "$epoch" ]; then
  echo "error: no git history: set SOURCE_DATE_EPOCH" >&2
  exit 1
fi
export SOURCE_DATE_EPOCH=$epoch
last_year=$(date -u -d "@$epoch" +%Y)
first_year=$(git log --format=%cd --date=format:%Y 2>/dev/null | tail -n 1 || true)
first_year=${first_year:-$last_year}
# There is no public address yet: example.org (RFC 2606) says so rather than invent one.
maintainer=${NLSEL_MAINTAINER:-"nlsel developers <nlsel@example.org>"}
description="choose the IPv6 source address by deprecating the others
 nlsel chooses the IPv6 source address Linux uses for outgoing traffic: it
 marks the other addresses deprecated (preferred_lft 0) over rtnetlink and
 changes nothing else about them (valid lifetime, flags, prefix routes). It
 matches addresses by prefix bits, can watch for addresses added later, and
 explains which source the kernel picks for a destination and why.
 .
 The package's nlsel.service runs the command set in /etc/default/nlsel; it
 does nothing until that is set and is not enabled by the package."

target_of() {
  case $1 in
    amd64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    *)
      echo "error: unknown architecture $1 (amd64 or arm64)" >&2
      exit 1
      ;;
  esac
}

if ! grep -q "^## $version\b" CHANGELOG.md; then
  echo "error: CHANGELOG.md has no \"## $version\" entry" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nlsel-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A binary of this version that runs here, to print the unit: the text is the same for every
# architecture (only ExecStart's path differs, and the package replaces that line).
host_bin=
for candidate in dist/nlsel-"$version"-*; do
  [[ $candidate == *.deb || $candidate == */SHA256SUMS ]] && continue
  if "$candidate" --version >/dev/null 2>&1; then
    host_bin=$candidate
    break
  fi
done
if [ -z "$host_bin" ]; then
  echo "error: no release binary in dist/ runs on this machine: run tools/release.sh" >&2
  exit 1
fi

# The unit: `nlsel unit` for a --watch command, with ExecStart reading NLSEL_ARGS from
# /etc/default/nlsel, and ExecCondition= skipping the start (no failure, no change) while it
# is empty. Type=notify needs --watch in NLSEL_ARGS: /etc/default/nlsel says so. The binary is
# copied to a path outside /tmp and the home directories, so that the sandbox lines are the
# ones for /usr/sbin/nlsel.
mkdir -p "$work/bin"
cp "$host_bin" "$work/bin/nlsel"
unit=$(cd / && "$work/bin/nlsel" unit deprecate --except ::2 --watch)
unit=$(sed -e '/^# .* is under .*, which may be emptied at boot/d' -e '/^# Copy nlsel to /d' \
  -e 's/^ProtectHome=.*/ProtectHome=yes/' -e 's/^PrivateTmp=.*/PrivateTmp=yes/' \
  -e 's/^PrivateDevices=.*/PrivateDevices=yes/' <<<"$unit")
grep -q '^ExecStart=' <<<"$unit" || { echo "error: no ExecStart= in nlsel unit's output" >&2; exit 1; }
unit=$(awk '
  /^# Written by `nlsel / {
    print "# nlsel.service of the Debian package nlsel: the unit that"
    print "# `nlsel unit deprecate --except ::2 --watch` prints, with the command read from"
    print "# /etc/default/nlsel (NLSEL_ARGS). Empty, the service does nothing. Not enabled by the"
    print "# package: set NLSEL_ARGS, then `systemctl enable --now nlsel`."
    next
  }
  /^Description=/ {
    print "Description=Choose the IPv6 source address (nlsel, command in /etc/default/nlsel)"
    print "Documentation=man:nlsel(8)"
    next
  }
  /^ExecStart=/ {
    print "EnvironmentFile=-/etc/default/nlsel"
    print "# Nothing to do until the admin sets NLSEL_ARGS: the start is skipped, not failed."
    print "ExecCondition=/usr/bin/test -n \"${NLSEL_ARGS}\""
    print "ExecStart=/usr/sbin/nlsel $NLSEL_ARGS"
    next
  }
  { print }' <<<"$unit")

default_file='# Arguments of nlsel.service (/lib/systemd/system/nlsel.service), one nlsel command
# with --watch (the service is Type=notify: ready once the first pass is applied, then it
# keeps the choice while addresses come and go). While NLSEL_ARGS is empty the service does
# nothing, so installing the package changed no address.
#
# Try the command by hand first, with --dry-run instead of --watch:
#   nlsel deprecate --except ::2 --dry-run
# then set it here and start the service, now and at every boot:
#   systemctl enable --now nlsel
#
# For a oneshot (no --watch) or another network namespace (-n), write a unit of your own
# with `nlsel [-n NETNS] unit ...` instead; see nlsel(8).
#
# Example: keep ::2 (any prefix) and deprecate every other global IPv6 address.
#NLSEL_ARGS="deprecate --except ::2 --watch"
NLSEL_ARGS='

copyright="Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: nlsel
Upstream-Contact: $maintainer

Files: *
Copyright: $first_year-$last_year the nlsel developers
License: MIT or Apache-2.0

License: MIT
$(sed -e 's/^$/./' -e 's/^/ /' LICENSE-MIT | sed 1,2d)

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the \"License\"); you may not
 use this software except in compliance with the License. You may obtain a copy
 of the License at
 .
 http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an \"AS IS\" BASIS, WITHOUT
 WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 License for the specific language governing permissions and limitations under
 the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0, can be
 found in /usr/share/common-licenses/Apache-2.0."

debian_changelog="nlsel ($debversion) unstable; urgency=medium

  * Package of nlsel $version, built by tools/deb.sh from the release binaries.
    What changed upstream: /usr/share/doc/nlsel/changelog.gz.

 -- $maintainer  $(LC_ALL=C date -u -R -d "@$epoch")"

postinst='#!/bin/sh
# dh_installsystemd'"'"'s snippets for a unit the package neither enables nor starts: record
# the links an enable would make, so that purge removes those of an admin'"'"'s enable.
set -e
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if deb-systemd-helper debian-installed nlsel.service; then
		if deb-systemd-helper --quiet was-enabled nlsel.service; then
			deb-systemd-helper enable nlsel.service >/dev/null || true
		fi
	fi
	deb-systemd-helper update-state nlsel.service >/dev/null || true
	if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		# An upgrade restarts a running service with the new binary; nothing else starts it.
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart nlsel.service >/dev/null || true
		fi
	fi
fi
'
prerm='#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop nlsel.service >/dev/null || true
fi
'
postrm='#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ] && command -v deb-systemd-helper >/dev/null; then
	deb-systemd-helper purge nlsel.service >/dev/null || true
fi
'

# put MODE PATH: stdin into the package tree at PATH.
put() {
  mkdir -p "$(dirname "$pkg/$2")"
  cat >"$pkg/$2"
  chmod "$1" "$pkg/$2"
}

for arch in "${arches[@]}"; do
  target=$(target_of "$arch")
  bin=dist/nlsel-$version-$target
  if [ ! -f "$bin" ]; then
    echo "error: $bin is missing: run tools/release.sh $target" >&2
    exit 1
  fi
  pkg=$work/$arch
  mkdir -p "$pkg"
  put 0755 usr/sbin/nlsel <"$bin"
  gzip -9n <doc/nlsel.8 | put 0644 usr/share/man/man8/nlsel.8.gz
  put 0644 usr/share/bash-completion/completions/nlsel <src/cmd/completions/nlsel.bash
  put 0644 usr/share/zsh/vendor-completions/_nlsel <src/cmd/completions/_nlsel.zsh
  put 0644 usr/share/fish/vendor_completions.d/nlsel.fish <src/cmd/completions/nlsel.fish
  put 0644 usr/share/doc/nlsel/copyright <<<"$copyright"
  gzip -9n <CHANGELOG.md | put 0644 usr/share/doc/nlsel/changelog.gz
  gzip -9n <<<"$debian_changelog" | put 0644 usr/share/doc/nlsel/changelog.Debian.gz
  put 0644 lib/systemd/system/nlsel.service <<<"$unit"
  put 0644 etc/default/nlsel <<<"$default_file"
  # lintian's overrides, each with the reason.
  put 0644 usr/share/lintian/overrides/nlsel <<'EOF'
# /usr/sbin/nlsel is a static-PIE executable (ET_DYN, musl's C runtime linked in, no
# PT_INTERP): it needs no library, so it has no DT_NEEDED, which lintian takes for a shared
# library that forgot its dependencies.
nlsel: shared-library-lacks-prerequisites [usr/sbin/nlsel]
# Built by tools/deb.sh for direct installation, not uploaded to Debian: there is no ITP bug.
nlsel: initial-upload-closes-no-bugs [usr/share/doc/nlsel/changelog.Debian.gz:1]
EOF
  find "$pkg" -type d -exec chmod 0755 {} +

  mkdir -p "$pkg/DEBIAN"
  (cd "$pkg" && find . -path ./DEBIAN -prune -o -type f ! -path './etc/*' -printf '%P\n' |
    LC_ALL=C sort | xargs md5sum) | put 0644 DEBIAN/md5sums
  put 0644 DEBIAN/conffiles <<<"/etc/default/nlsel"
  put 0755 DEBIAN/postinst <<<"$postinst"
  put 0755 DEBIAN/prerm <<<"$prerm"
  put 0755 DEBIAN/postrm <<<"$postrm"
  # Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and 1 per directory.
  size=$(cd "$pkg" && find . -path ./DEBIAN -prune -o \( -type f -printf '%s\n' \) -o \( -type d -printf '1024\n' \) |
    awk '{ total += int(($1 + 1023) / 1024) } END { print total }')
  put 0644 DEBIAN/control <<EOF
Package: nlsel
Version: $debversion
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Section: net
Priority: optional
Description: $description
EOF
  find "$pkg" -exec touch -h -d "@$epoch" {} +
  out=dist/nlsel_${debversion}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out" >/dev/null
  echo "$out: $(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1)"
done
