#!/usr/bin/env bash
# tools/deb.sh from the release binaries in dist/ (tools/release.sh, run first by .ci/run):
#   - built twice, the second time after every input's mtime moved and with another umask and
#     TMPDIR: the same sha256 for each package;
#   - lintian on both: no error and no warning (its overrides are in the package, each with a
#     comment), and the tags it prints are shown;
#   - the contents: the files the README promises, root-owned, /etc/default/nlsel a conffile,
#     the unit equal to `nlsel unit deprecate --except ::2 --watch` but for the lines that read
#     /etc/default/nlsel;
#   - the arm64 package's binary, extracted, runs under qemu-aarch64-static and prints the
#     version the package has.
source "$(dirname "${BASH_SOURCE[0]}")/../ship/common.sh"
need dpkg-deb:dpkg lintian:lintian qemu-aarch64-static:qemu-user-static

version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
debs=(dist/nlsel_"$version"-1_amd64.deb dist/nlsel_"$version"-1_arm64.deb)

tools/deb.sh
first=$(sha256sum "${debs[@]}")
touch doc/nlsel.8 src/cmd/completions/* CHANGELOG.md LICENSE-MIT dist/nlsel-"$version"-*
other_tmp=$(mktemp -d)
ship_cleanup+=("rm -rf '$other_tmp'")
(umask 0002 && TMPDIR=$other_tmp tools/deb.sh >/dev/null)
second=$(sha256sum "${debs[@]}")
[ "$first" = "$second" ] || fail "tools/deb.sh is not reproducible:
$first
$second"
echo "reproducible: two builds give
$first"
for deb in "${debs[@]}"; do
  echo "$deb: $(stat -c %s "$deb") bytes"
done

# lintian: E: and W: fail; I: and N: are shown.
for deb in "${debs[@]}"; do
  out=$(lintian --info --display-info --pedantic --show-overrides "$deb" 2>&1) || true
  echo "lintian $deb:"
  echo "${out:-  (nothing)}" | sed 's/^/  /'
  if grep -qE '^[EW]: ' <<<"$out"; then
    fail "lintian reports errors or warnings for $deb"
  fi
done

# Contents.
deb=${debs[0]}
listing=$(dpkg-deb -c "$deb")
for path in ./usr/sbin/nlsel ./usr/share/man/man8/nlsel.8.gz \
  ./usr/share/bash-completion/completions/nlsel ./usr/share/zsh/vendor-completions/_nlsel \
  ./usr/share/fish/vendor_completions.d/nlsel.fish ./usr/share/doc/nlsel/copyright \
  ./usr/share/doc/nlsel/changelog.Debian.gz ./lib/systemd/system/nlsel.service ./etc/default/nlsel; do
  grep -q " $path\$" <<<"$listing" || fail "$deb has no $path"
done
if awk '$2 != "root/root" { bad = 1 } END { exit !bad }' <<<"$listing"; then
  fail "$deb has files not owned by root:root"
fi
[ "$(dpkg-deb -f "$deb" Version)" = "$version-1" ] || fail "$deb: Version is not $version-1"
x=$(mktemp -d)
ship_cleanup+=("rm -rf '$x'")
dpkg-deb -e "$deb" "$x/DEBIAN"
[ "$(cat "$x/DEBIAN/conffiles")" = /etc/default/nlsel ] || fail "/etc/default/nlsel is not the only conffile"
dpkg-deb -x "$deb" "$x/amd64"
grep -qx 'NLSEL_ARGS=' "$x/amd64/etc/default/nlsel" || fail "/etc/default/nlsel sets NLSEL_ARGS"
cmp -s "$x/amd64/usr/sbin/nlsel" "dist/nlsel-$version-x86_64-unknown-linux-musl" ||
  fail "/usr/sbin/nlsel is not the release binary"
# The unit: nlsel's own for --watch, but for the comment, Description= and the lines that
# take the command from /etc/default/nlsel.
mkdir "$x/bin"
cp "dist/nlsel-$version-x86_64-unknown-linux-musl" "$x/bin/nlsel"
# The binary runs from a temporary directory here, which changes the sandbox lines for its
# path; the package's are those for /usr/sbin/nlsel, checked on their own below.
strip_unit() {
  grep -vE '^(#|Description=|Documentation=|ExecStart=|ExecCondition=|EnvironmentFile=)' |
    sed -E 's/^(PrivateTmp|ProtectHome|PrivateDevices)=.*/\1=/'
}
diff <("$x/bin/nlsel" unit deprecate --except ::2 --watch | strip_unit) \
  <(strip_unit <"$x/amd64/lib/systemd/system/nlsel.service") ||
  fail "the package's unit is not the one nlsel unit prints"
grep -qx 'ExecStart=/usr/sbin/nlsel $NLSEL_ARGS' "$x/amd64/lib/systemd/system/nlsel.service" ||
  fail "the unit's ExecStart does not run NLSEL_ARGS"
for line in PrivateTmp=yes ProtectHome=yes PrivateDevices=yes; do
  grep -qx "$line" "$x/amd64/lib/systemd/system/nlsel.service" || fail "the unit lacks $line"
done
systemd-analyze verify "$x/amd64/lib/systemd/system/nlsel.service" 2>&1 |
  grep -v 'Command /usr/sbin/nlsel is not executable\|nlsel.service: Unit configuration has fatal error\|man nlsel(8)' || true

# The arm64 binary, from its package, under emulation.
dpkg-deb -x "${debs[1]}" "$x/arm64"
[[ $(LC_ALL=C readelf -hW "$x/arm64/usr/sbin/nlsel") == *Machine:*AArch64* ]] ||
  fail "the arm64 package's binary is not AArch64"
got=$(qemu-aarch64-static "$x/arm64/usr/sbin/nlsel" --version)
[[ $got == "nlsel $version (commit "* ]] || fail "arm64 /usr/sbin/nlsel --version under qemu: $got"
echo "arm64 package: /usr/sbin/nlsel runs under qemu-aarch64-static: $got"
echo "packages: ok"
