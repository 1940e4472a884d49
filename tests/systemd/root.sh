#!/usr/bin/env bash
# Builds the container root of tests/systemd/lib.sh into DIR (which must not exist), once, so
# that .ci/run's two systemd steps copy it (NLSEL_SYSTEMD_ROOT=DIR) instead of each running
# mmdebstrap: the root is the same, and mmdebstrap is most of their time.
#
# Usage: tests/systemd/root.sh DIR     (as root)
set -euo pipefail

dir=${1:?usage: tests/systemd/root.sh DIR}
bin=$(type -P true) # build_root installs $bin as nlsel; each script installs its own
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$dir
build_root
