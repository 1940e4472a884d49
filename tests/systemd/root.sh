#!/usr/bin/env bash
# Builds the container root of tests/systemd/lib.sh (make_root: ROOT_PACKAGES, no nlsel) into
# DIR (which must not exist), once, so that .ci/run's steps that boot it (tests/systemd/run.sh,
# tests/systemd/doctor.sh, tests/package/run.sh) copy it (NLSEL_SYSTEMD_ROOT=DIR) instead of
# each running mmdebstrap: the root is the same, and mmdebstrap is most of their time.
#
# Usage: tests/systemd/root.sh DIR     (as root)
set -euo pipefail

dir=${1:?usage: tests/systemd/root.sh DIR}
# shellcheck source=tests/systemd/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ ! -e "$dir" ] || { echo "root.sh: $dir exists" >&2; exit 1; }
NLSEL_SYSTEMD_ROOT= # build it, whatever the caller's environment says
root=$dir
make_root
