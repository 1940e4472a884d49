#!/usr/bin/env bash
# tools/release.sh as it ships: both static binaries under 256 KiB, built twice, here and in
# a clone of the same commit in another directory, with the same sha256; then the aarch64
# binary under qemu-aarch64-static against the real kernel in a namespace (show, deprecate
# --except ::2, which), checked with ip -j.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need qemu-aarch64-static:qemu-user-static jq:jq readelf:binutils git:git

git diff --quiet HEAD -- . ':!dist' ||
  fail "the work tree has uncommitted changes: a clone would not build the same bytes"

tools/release.sh
cp dist/SHA256SUMS "$(mktemp)"
first=$(cat dist/SHA256SUMS)

# A second clone of the same commit, at another depth and name.
elsewhere=$(mktemp -d /tmp/nlsel-repro.XXXXXX)
ship_cleanup+=("rm -rf '$elsewhere'")
git clone -q --no-local "$root" "$elsewhere/some/deeper/checkout"
(cd "$elsewhere/some/deeper/checkout" && git checkout -q "$(git -C "$root" rev-parse HEAD)" &&
  tools/release.sh >/dev/null)
second=$(cat "$elsewhere/some/deeper/checkout/dist/SHA256SUMS")
if [ "$first" != "$second" ]; then
  fail "not reproducible:
$root:
$first
$elsewhere/some/deeper/checkout:
$second"
fi
echo "reproducible: both builds give
$first"
# A tree whose sources differ from the commit: --version says so (-dirty), here and in a clone.
clone=$elsewhere/some/deeper/checkout
echo '// modified' >>"$clone/src/main.rs"
dirty=$(cd "$clone" && cargo build -q --target-dir target/dirty && target/dirty/debug/nlsel --version)
[ "$dirty" = "nlsel $(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml) (commit $(git rev-parse HEAD)-dirty)" ] ||
  fail "a modified tree's --version: $dirty"
echo "modified tree: $dirty"
# No release without a CHANGELOG.md entry for its version.
sed -i '/^## [0-9]/d' "$clone/CHANGELOG.md"
if out=$(cd "$clone" && tools/release.sh 2>&1); then
  fail "tools/release.sh built a version without a CHANGELOG.md entry"
fi
[[ $out == *"CHANGELOG.md has no"* ]] || fail "tools/release.sh without a CHANGELOG entry: $out"
for file in dist/nlsel-*; do
  [ "$(stat -c %s "$file")" -le $((256 * 1024)) ] || fail "$file is over 256 KiB"
  [ "$("$file" --version 2>/dev/null || qemu-aarch64-static "$file" --version)" = \
    "nlsel $(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml) (commit $(git rev-parse HEAD))" ] ||
    fail "$file --version does not name the commit"
done

# The aarch64 binary, emulated, against this kernel.
arm=$(ls dist/nlsel-*-aarch64-unknown-linux-musl)
[[ $(LC_ALL=C readelf -hW "$arm") == *Machine:*AArch64* ]] || fail "$arm is not an AArch64 binary"
# Both static-PIE, so the kernel loads them at a random address (aarch64's was ET_EXEC).
for file in dist/nlsel-*-musl; do
  [[ $(LC_ALL=C readelf -hW "$file") == *Type:*DYN* ]] || fail "$file is not position-independent (ET_DYN)"
done
ns=nlsel-ship-arm
seed_netns "$ns"
ours=$(qemu-aarch64-static "$arm" -n "$ns" -j show | jq -S 'del(.. | .protocol?)')
theirs=$(ip -n "$ns" -j addr show | jq -S .)
[ "$ours" = "$theirs" ] || fail "aarch64 show -j differs from ip -j addr show:
$(diff <(echo "$theirs") <(echo "$ours"))"
qemu-aarch64-static "$arm" -n "$ns" deprecate --except ::2 ||
  fail "aarch64 deprecate --except ::2 failed"
assert_seed_deprecated "$ns" "aarch64 deprecate --except ::2"
src=$(qemu-aarch64-static "$arm" -n "$ns" -j which 2001:db8:f1c1:8454:964::9 | jq -r .src)
want=$(ip -n "$ns" -j -6 route get 2001:db8:f1c1:8454:964::9 | jq -r '.[0].prefsrc')
[ "$src" = "$want" ] && [ "$src" = 2001:db8:f1c1:8454:964::2 ] ||
  fail "aarch64 which: nlsel says $src, ip -6 route get says $want"
echo "aarch64 under qemu: show, deprecate --except ::2 and which agree with ip -j"
