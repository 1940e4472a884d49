#!/usr/bin/env bash
# The FROM scratch image and an empty chroot: the static binary needs no file at all. The
# image is built with podman and run with --network ns:/run/netns/NAME against a namespace
# holding the seed's addresses; podman's default network is never used (it would add a
# bridge and firewall rules on the host).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need podman:podman runc:runc jq:jq chroot:coreutils

bin=$(nlsel_bin)
[ -n "$(ls dist/nlsel-*-x86_64-unknown-linux-musl 2>/dev/null)" ] ||
  fail "no dist/nlsel-*-x86_64-unknown-linux-musl: run tools/release.sh first"

# --- empty chroot ------------------------------------------------------------------------------
jail=$(mktemp -d /tmp/nlsel-jail.XXXXXX)
ship_cleanup+=("rm -rf '$jail'")
cp "$bin" "$jail/nlsel"
[ "$(ls -A "$jail")" = nlsel ] || fail "the chroot holds more than the binary"
ns=nlsel-ship-chroot
seed_netns "$ns"
chroot "$jail" /nlsel --version || fail "nlsel --version fails in an empty chroot"
ours=$(ip netns exec "$ns" chroot "$jail" /nlsel -j show | jq -S 'del(.. | .protocol?)')
[ "$ours" = "$(ip -n "$ns" -j addr show | jq -S .)" ] || fail "show -j in the chroot differs from ip -j addr show"
ip netns exec "$ns" chroot "$jail" /nlsel deprecate --except ::2 || fail "deprecate in the chroot failed"
assert_seed_deprecated "$ns" "deprecate --except ::2 in an empty chroot"
src=$(ip netns exec "$ns" chroot "$jail" /nlsel which 2001:db8:f1c1:8454:964::9)
[ "$src" = "2001:db8:f1c1:8454:964::2 dev venet0" ] || fail "which in the chroot says: $src"
echo "empty chroot: ok (no /etc, /proc or /dev; show, deprecate, which)"

# --- FROM scratch image, with podman -----------------------------------------------------------
conf=$(mktemp -d /tmp/nlsel-podman.XXXXXX)
ship_cleanup+=("rm -rf '$conf'")
printf '[containers]\ndefault_ulimits = []\n' >"$conf/containers.conf"
export CONTAINERS_CONF=$conf/containers.conf
podman() { command podman --runtime runc --cgroup-manager cgroupfs "$@"; }
image=localhost/nlsel-ship:test
ship_cleanup+=("command podman --runtime runc --cgroup-manager cgroupfs rmi -f $image >/dev/null 2>&1")
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
grep -qx "ARG VERSION=$version" Containerfile || fail "Containerfile's VERSION is not $version (Cargo.toml)"
# A stale binary of another version in dist/ must not end up in the image.
stale=dist/nlsel-0.0.0-x86_64-unknown-linux-musl
printf '#!/bin/sh\necho stale\n' >"$stale"
ship_cleanup+=("rm -f '$stale'")
podman build -q -t "$image" -f Containerfile . >/dev/null || fail "podman build failed"
rm -f "$stale"
[ "$(podman image inspect "$image" | jq -r '.[0].Architecture')" = amd64 ] ||
  fail "the x86_64 image is not labelled amd64"
# The aarch64 image is labelled arm64 (it was amd64, and failed with "exec format error").
arm_image=localhost/nlsel-ship:arm64
ship_cleanup+=("command podman --runtime runc --cgroup-manager cgroupfs rmi -f $arm_image >/dev/null 2>&1")
podman build -q -t "$arm_image" --platform linux/arm64 --build-arg TARGET=aarch64-unknown-linux-musl \
  -f Containerfile . >/dev/null || fail "podman build of the aarch64 image failed"
[ "$(podman image inspect "$arm_image" | jq -r '.[0].Architecture')" = arm64 ] ||
  fail "the aarch64 image is not labelled arm64"
[ "$(podman image inspect "$image" | jq -r '.[0].Config.Entrypoint | join(" ")')" = /nlsel ] ||
  fail "the image's entrypoint is not /nlsel"
layers=$(podman image inspect "$image" | jq '.[0].RootFS.Layers | length')
[ "$layers" = 1 ] || fail "the image has $layers layers, expected the binary's one"

ns=nlsel-ship-podman
seed_netns "$ns"
[ "$(podman run --rm --network none "$image" --version)" = "$("$bin" --version)" ] ||
  fail "podman run --version is not the release binary's"
ours=$(podman run --rm --network "ns:/run/netns/$ns" "$image" -j show | jq -S 'del(.. | .protocol?)')
[ "$ours" = "$(ip -n "$ns" -j addr show | jq -S .)" ] || fail "show -j in the container differs from ip -j addr show"
podman run --rm --network "ns:/run/netns/$ns" --cap-add NET_ADMIN "$image" deprecate --except ::2 ||
  fail "podman run ... deprecate --except ::2 failed"
assert_seed_deprecated "$ns" "podman run ... deprecate --except ::2"
set +e
podman run --rm --network "ns:/run/netns/$ns" --cap-add NET_ADMIN "$image" deprecate --except ::2 --check
code=$?
set -e
[ "$code" = 0 ] || fail "deprecate --check after the change exits $code, expected 0"
echo "FROM scratch image: ok ($(podman image inspect "$image" | jq '.[0].Size') bytes; deprecate in a named namespace)"
