# Shared by the tests/ship/*.sh scripts, which .ci/run calls: they check how nlsel ships
# (release binaries, man page, completions, container image, Ansible example) on a fresh
# Debian 12 machine, as root. Each installs what it needs; a missing tool or a failed setup
# is a failure, never a skip.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"
export DEBIAN_FRONTEND=noninteractive

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# need COMMAND:PACKAGE...: installs the Debian packages whose command is missing.
need() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  fi
}

# The binary under test: $NLSEL_BIN, else the static x86_64 release binary from
# tools/release.sh, else the stable static musl build.
nlsel_bin() {
  local candidate
  for candidate in "${NLSEL_BIN:-}" dist/nlsel-*-x86_64-unknown-linux-musl \
    target/x86_64-unknown-linux-musl/release/nlsel; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      echo "$root/${candidate#"$root"/}"
      return
    fi
  done
  fail "no nlsel binary: run tools/release.sh or set NLSEL_BIN"
}

# Network namespaces made with new_netns are deleted on exit, whatever happens.
ship_namespaces=()
ship_cleanup=()
ship_exit() {
  local ns action
  for action in "${ship_cleanup[@]}"; do eval "$action" || true; done
  for ns in "${ship_namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap ship_exit EXIT

new_netns() {
  local ns=$1
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns" || fail "cannot create network namespace $ns"
  ship_namespaces+=("$ns")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
}

# The seed's interface in namespace $1: venet0 with ::2/128, ...964::2/80 and ...964::beef/80
# (newest), all preferred, and a route for the /80.
seed_netns() {
  local ns=$1
  new_netns "$ns"
  ip -n "$ns" link add venet0 type veth peer name venet0p
  ip -n "$ns" link set venet0 up
  ip -n "$ns" link set venet0p up
  ip -n "$ns" addr add ::2/128 dev venet0 nodad
  ip -n "$ns" addr add 2001:db8:f1c1:8454:964::2/80 dev venet0 nodad
  ip -n "$ns" addr add 2001:db8:f1c1:8454:964::beef/80 dev venet0 nodad
}

# Global IPv6 addresses of venet0 in namespace $1 that are deprecated, one per line.
deprecated_in() {
  ip -n "$1" -j addr show dev venet0 |
    jq -r '.[].addr_info[] | select(.family=="inet6" and .scope=="global" and .preferred_life_time==0) | .local' |
    sort
}

# Asserts that exactly ::beef is deprecated in namespace $1, as `deprecate --except ::2` does.
assert_seed_deprecated() {
  local got
  got=$(deprecated_in "$1")
  [ "$got" = "2001:db8:f1c1:8454:964::beef" ] ||
    fail "$2: expected only ...::beef deprecated in $1, ip -j says: ${got:-none}"
}

# Every long and short option each --help lists, as "COMMAND OPTION" lines ("nlsel" for the
# global ones), read from the Options: sections.
help_options() {
  local bin=$1 command
  "$bin" --help | options_of nlsel
  for command in show deprecate prefer undeprecate "addr change" which doctor unit completions; do
    # shellcheck disable=SC2086 # "addr change" is two words
    "$bin" $command --help | options_of "$command"
  done
}

options_of() {
  awk -v command="$1" '
    /^Options:/ { in_options = 1; next }
    /^[^ ]/ { in_options = 0 }
    in_options && /^  +-/ {
      for (i = 1; i <= NF; i++) {
        word = $i; sub(/,$/, "", word)
        if (word ~ /^--?[A-Za-z][A-Za-z-]*$/) print command " " word
        else break
      }
    }'
}
