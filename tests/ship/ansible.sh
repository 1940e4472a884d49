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
tmp=$(mktemp -d /tmp/nlsel-ansible.XXXXXX)
ship_cleanup+=("rm -rf '$tmp' /tmp/nlsel-check")
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

before=$(ip -n "$ns" -j addr show)
play --check
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

play
[ "$(stat_of changed)" = 0 ] && [ "$(stat_of failed)" = 0 ] || fail "second run: expected ok, not changed"
assert_seed_deprecated "$ns" "second ansible run"
play --check
[ "$(stat_of changed)" = 0 ] || fail "--check after the change: expected ok"
echo "ansible: ok (--check changed without changing, first run changed, second ok)"
