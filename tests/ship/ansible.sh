#!/usr/bin/env bash
# examples/ansible/nlsel.yml against localhost (connection: local) on a namespace made here,
# with ansible-core from PyPI: `--check` reports changed and changes nothing, the first real
# run reports changed and deprecates ::beef, the second reports ok.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need jq:jq python3:python3

# ansible-core from PyPI, in a virtual environment of its own (Debian's python3 refuses a
# system-wide pip install); kept between runs.
venv=/var/tmp/nlsel-ansible-venv
if ! "$venv/bin/ansible-playbook" --version >/dev/null 2>&1; then
  python3 -m venv "$venv" 2>/dev/null || {
    need no-such-command:python3-venv
    rm -rf "$venv"
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install -q ansible-core || fail "cannot install ansible-core from PyPI"
fi
version=$("$venv/bin/ansible-playbook" --version) # whole: a closed pipe would make it fail
echo "${version%%$'\n'*}"

bin=$(nlsel_bin)
ns=nlsel-ship-ansible
seed_netns "$ns"
# Outside /tmp: the unit for a binary there has PrivateTmp=yes, as on a real host.
tmp=$(mktemp -d /var/lib/nlsel-ansible.XXXXXX)
ship_cleanup+=("rm -rf '$tmp'")
jq -n --arg src "$bin" --arg dest "$tmp/bin/nlsel" --arg ns "$ns" --arg unit "$tmp/nlsel.service" '{
  nlsel_src: $src, nlsel_dest: $dest, nlsel_netns: $ns, nlsel_except: ["::2"],
  nlsel_become: false, nlsel_install_unit: true, nlsel_unit_path: $unit, nlsel_unit_start: false
}' >"$tmp/vars.json"
mkdir "$tmp/bin"

# play [ARGS]: runs the playbook and prints its recap; the whole output stays in $tmp/report.
play() {
  ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false \
    ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" \
    "$venv/bin/ansible-playbook" -i localhost, -c local examples/ansible/nlsel.yml \
    -e "@$tmp/vars.json" "$@" >"$tmp/report" 2>&1 || {
    cat "$tmp/report" >&2
    fail "ansible-playbook $* failed"
  }
  grep -E '^localhost +:' "$tmp/report"
}
# stat_of KEY: a count from the recap line (ok, changed, failed, ...).
stat_of() { grep -E '^localhost +:' "$tmp/report" | grep -oE "$1=[0-9]+" | cut -d= -f2; }
# task_changed NAME: true when the task's result line is "changed: [localhost]".
task_changed() {
  awk -v name="TASK [$1]" 'index($0, name) == 1 { on = 1; next } on && /^(ok|changed|skipping|fatal):/ { print ($1 == "changed:") ? "true" : "false"; exit }' "$tmp/report"
}

# The shipped inventory, run as documented, targets a host (a placeholder to replace), not none.
hosts=$(cd examples/ansible && ANSIBLE_NOCOLOR=1 "$venv/bin/ansible-playbook" -i hosts.ini nlsel.yml --list-hosts 2>&1) ||
  fail "ansible-playbook -i hosts.ini nlsel.yml --list-hosts failed: $hosts"
grep -qE 'hosts \([1-9]' <<<"$hosts" || fail "the shipped hosts.ini matches no host:
$hosts"

before=$(ip -n "$ns" -j addr show)
play --check --diff
# The check ran a temporary copy beside the destination, and removed it; the unit in its diff
# is compared below with the one the real run installs (it once had the sandbox lines of a
# binary under /tmp, for the copy the check ran).
awk 'index($0, "TASK [Install the unit]") == 1 { on = 1; next } /^TASK / { on = 0 }
  on && /^\+/ && !/^\+\+\+ / { print substr($0, 2) }' "$tmp/report" >"$tmp/check-unit"
grep -q "^ExecStart=$tmp/bin/nlsel -n $ns deprecate" "$tmp/check-unit" ||
  fail "--check --diff does not show the unit with the installed path"
[ -z "$(ls -A "$tmp/bin")" ] || fail "--check left files in $tmp/bin: $(ls -A "$tmp/bin")"
[ ! -e /tmp/nlsel-check ] || fail "--check left /tmp/nlsel-check"
[ "$(task_changed 'Ask nlsel whether any address would change (exit 3 means yes)')" = true ] ||
  fail "--check: the check task did not report changed"
[ "$(stat_of changed)" -gt 0 ] || fail "--check reported nothing to change"
[ "$(ip -n "$ns" -j addr show)" = "$before" ] || fail "--check changed an address"
[ ! -e "$tmp/bin/nlsel" ] && [ ! -e "$tmp/nlsel.service" ] || fail "--check installed a file"

play
[ "$(stat_of changed)" -gt 0 ] && [ "$(stat_of failed)" = 0 ] || fail "first run: expected changed"
[ "$(task_changed 'Deprecate the other addresses')" = true ] || fail "first run did not deprecate"
assert_seed_deprecated "$ns" "first ansible run"
cmp -s "$bin" "$tmp/bin/nlsel" || fail "the binary was not copied"
"$tmp/bin/nlsel" -n "$ns" unit deprecate --except=::2 | diff - "$tmp/nlsel.service" ||
  fail "the installed unit is not what nlsel unit prints"
diff "$tmp/check-unit" "$tmp/nlsel.service" || fail "--check --diff showed another unit than the one installed"

play
[ "$(stat_of changed)" = 0 ] && [ "$(stat_of failed)" = 0 ] || fail "second run: expected ok, not changed"
assert_seed_deprecated "$ns" "second ansible run"
play --check
[ "$(stat_of changed)" = 0 ] || fail "--check after the change: expected ok"
echo "ansible: ok (--check changed without changing, first run changed, second ok)"
