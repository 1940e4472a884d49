#!/usr/bin/env bash
# Builds nlsel as it ships: static musl binaries for x86_64 and aarch64, from the nightly
# toolchain with the standard library rebuilt without its panic and backtrace machinery
# (-Z build-std, panic=immediate-abort, no unwind tables), so each is under 256 KiB.
#
#   tools/release.sh [TARGET...]      default: x86_64-unknown-linux-musl aarch64-unknown-linux-musl
#
# Writes dist/nlsel-VERSION-TARGET and dist/SHA256SUMS, and prints the sha256s and the
# toolchain. The build is reproducible: every path that could end up in the binary (this
# checkout, cargo's home, rustup's home) is remapped to a fixed name, symbols are stripped,
# nothing records a time, and the commit comes from git's files (build.rs), so two clones of
# one commit in different directories give the same bytes.
#
# Needs: rustup and its network: the pinned nightly (NLSEL_TOOLCHAIN overrides it) and its rust-src
# component are installed when missing; `rust-lld` (shipped with rustc) links both targets, so
# no cross toolchain is used. Both binaries are static-PIE (ET_DYN, loaded at a random address).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

# A dated nightly, so that a rebuild months later gets the same compiler and the same bytes:
# the one the published sizes and sha256s come from (rustc 1.97.0-nightly e50aa6fba).
toolchain=${NLSEL_TOOLCHAIN:-nightly-2026-05-20}
max_size=$((256 * 1024))
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
fi

rustup toolchain install --profile minimal --component rust-src "$toolchain" >/dev/null 2>&1 ||
  rustup component add rust-src --toolchain "$toolchain" >/dev/null
cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)
rustup_home=$(cd "${RUSTUP_HOME:-$HOME/.rustup}" && pwd -P)
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
# A release says what changed: CHANGELOG.md needs a "## VERSION" heading for this version.
if ! grep -q "^## $version\b" CHANGELOG.md; then
  echo "error: CHANGELOG.md has no \"## $version\" entry" >&2
  exit 1
fi

# The release profile (Cargo.toml) already strips and uses one codegen unit and LTO. A panic
# aborts on the spot, so nothing ever unwinds: no unwind tables (a seventh of the binary), and
# packed relative relocations (DT_RELR, which musl's static-PIE start code applies). lld folds
# functions whose code is identical (--icf=all, which is safe only for code that never compares
# function addresses: nlsel and its crates do not; --icf=safe folds nothing here). LLVM's
# inliner at opt-level z still inlines calls it deems cheaper than 5; at 0 the binary is
# smaller (at -20 it grows again). LLVM's machine outliner, which AArch64 runs by default on
# size-optimised code, also runs on x86_64 (-enable-machine-outliner=always): it moves repeated
# instruction sequences into shared functions.
rustflags=(
  -Zunstable-options -Cpanic=immediate-abort -Cforce-unwind-tables=no
  -Cstrip=symbols
  -Clink-self-contained=yes -Clinker=rust-lld -Clink-arg=-zpack-relative-relocs
  -Clink-arg=--icf=all -Cllvm-args=-inline-threshold=0 -Cllvm-args=-enable-machine-outliner=always
  "--remap-path-prefix=$root=/nlsel"
  "--remap-path-prefix=$cargo_home=/cargo"
  "--remap-path-prefix=$rustup_home=/rustup"
)

mkdir -p dist
: >dist/SHA256SUMS.new
for target in "${targets[@]}"; do
  echo "building $target" >&2
  # musl's C runtime (crt*.o, libc.a) comes from the target's rust-std component. Some nightlies
  # ship none for a target (aarch64-unknown-linux-musl at times); then the stable toolchain's
  # copy of the same musl is linked, while all Rust code is still built from nightly's source.
  crt_flags=()
  sysroot=$(rustc "+$toolchain" --print sysroot)
  if ! rustup target add --toolchain "$toolchain" "$target" >/dev/null 2>&1 ||
    [ ! -d "$sysroot/lib/rustlib/$target/lib/self-contained" ]; then
    rustup target add --toolchain stable "$target" >/dev/null
    stable_sysroot=$(rustc +stable --print sysroot)
    echo "note: $toolchain has no rust-std for $target; linking musl from $(rustc +stable --version)" >&2
    crt_flags=("-Lnative=$stable_sysroot/lib/rustlib/$target/lib/self-contained")
  fi
  # aarch64-unknown-linux-musl's built-in spec does not allow a static PIE (x86_64's does), so
  # its binary would be ET_EXEC, always at the same address. The same spec, printed by this
  # rustc, with static-position-independent-executables on: rustc then links musl's rcrt1.o,
  # which relocates the binary itself, and the kernel loads it anywhere.
  target_arg=$target
  spec_flags=()
  if [ "$target" = aarch64-unknown-linux-musl ]; then
    spec_flags=(-Zjson-target-spec)
    mkdir -p target/release-build/spec
    target_arg=$root/target/release-build/spec/$target.json
    rustc "+$toolchain" -Z unstable-options --print target-spec-json --target "$target" |
      sed 's/^\( *\)"position-independent-executables": true,$/&\n\1"static-position-independent-executables": true,/' \
        >"$target_arg"
    grep -q '"static-position-independent-executables": true' "$target_arg" || {
      echo "error: could not make a static-PIE spec for $target" >&2
      exit 1
    }
  fi
  # A target directory of its own, so no artefact of another build (other flags, the stable
  # toolchain) is reused. The standard library is built with its size-optimised code paths
  # (optimize_for_size; this replaces its default features, of which only panic-unwind
  # matters, and nothing unwinds here).
  RUSTFLAGS="${rustflags[*]} ${crt_flags[*]}" SOURCE_DATE_EPOCH=0 \
    cargo "+$toolchain" build --release --locked --target "$target_arg" \
    --target-dir target/release-build -Z build-std=std,panic_abort \
    -Z build-std-features=optimize_for_size "${spec_flags[@]}"
  built=target/release-build/$target/release/nlsel
  name=nlsel-$version-$target
  cp "$built" "dist/$name"

  size=$(stat -c %s "dist/$name")
  if [ "$size" -gt "$max_size" ]; then
    echo "error: dist/$name is $size bytes, over $max_size" >&2
    exit 1
  fi
  # Static-PIE: ET_DYN, with no program interpreter and no shared library.
  if [[ $(LC_ALL=C readelf -hW "dist/$name") != *"Type:"*"DYN"* ]]; then
    echo "error: dist/$name is not a position-independent executable (ET_DYN)" >&2
    exit 1
  fi
  # Static: no program interpreter and no shared library.
  headers=$(LC_ALL=C readelf -lW "dist/$name"; LC_ALL=C readelf -dW "dist/$name" 2>/dev/null || true)
  if [[ $headers == *INTERP* || $headers == *NEEDED* ]]; then
    echo "error: dist/$name is not statically linked" >&2
    exit 1
  fi
  (cd dist && sha256sum "$name") >>dist/SHA256SUMS.new
  echo "$name: $size bytes" >&2
done
mv dist/SHA256SUMS.new dist/SHA256SUMS

echo "toolchain: $(rustc "+$toolchain" --version)"
# The --version text is one literal in the binary; show what each build embedded.
for target in "${targets[@]}"; do
  echo "$target: $(grep -ao "nlsel $version (commit [0-9a-z]*)" "dist/nlsel-$version-$target")"
done
cat dist/SHA256SUMS
