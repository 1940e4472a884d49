#!/usr/bin/env bash
# `nlsel completions bash|zsh|fish`: the bash script through a harness that sets COMP_WORDS /
# COMP_CWORD (and COMP_LINE where bash splits an IPv6 address at ':') and reads COMPREPLY;
# fish through `complete -C`; zsh through `zsh -n`. Live values come from a namespace made
# here. Every option a --help lists must be offered by every script, and no script may offer
# an option that no --help lists.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need bash:bash fish:fish zsh:zsh jq:jq
[ -f /usr/share/bash-completion/bash_completion ] || need no-such-command:bash-completion

bin=$(nlsel_bin)
tmp=$(mktemp -d)
ship_cleanup+=("rm -rf '$tmp'")
mkdir "$tmp/bin"
ln -s "$bin" "$tmp/bin/nlsel"
export PATH="$tmp/bin:$PATH"
for shell in bash zsh fish; do
  nlsel completions "$shell" >"$tmp/nlsel.$shell"
done

ns=nlsel-ship-comp
new_netns "$ns"
ip -n "$ns" link add eth7 type veth peer name eth7p
ip -n "$ns" link set eth7 up
ip -n "$ns" addr add 2001:db8:1::2/64 dev eth7 nodad
ip -n "$ns" addr add 2001:db8:1::beef/64 dev eth7 nodad
ip -n "$ns" addr add 192.0.2.9/24 dev eth7
ip -n "$ns" addr add 10.1.0.1 peer 10.1.0.2/32 dev eth7p

# Usage errors: exit 2, one line naming the value.
set +e
err=$(nlsel completions tcsh 2>&1 >/dev/null); code=$?
set -e
[ "$code" = 2 ] && [[ $err == *'"tcsh"'* ]] || fail "completions tcsh: exit $code, stderr: $err"

# --- bash ------------------------------------------------------------------------------------
bash -n "$tmp/nlsel.bash" || fail "bash -n rejects the bash script"
bash_test=$(
  cat <<'HARNESS'
source /usr/share/bash-completion/bash_completion
source "$1"
[ "$(complete -p nlsel)" = "complete -F _nlsel nlsel" ] || { echo "not registered"; exit 1; }
failures=0
# expect "WORD WORD ... ''" -- expected replies: COMP_WORDS are the words, the last one being
# completed (as bash sets them when no word holds a ':').
expect() {
  local line=$1; shift
  read -ra COMP_WORDS <<<"$line"
  [[ $line == *' ' ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  unset COMP_LINE COMP_POINT
  COMPREPLY=()
  _nlsel
  local got want
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' ')
  want=$(printf '%s\n' "$@" | sort | paste -sd' ')
  if [ "$got" != "$want" ]; then
    echo "bash: '$line' completes to [$got], expected [$want]"
    failures=$((failures + 1))
  fi
}
ns=$2
expect "nlsel dep" deprecate
expect "nlsel un" undeprecate unit
expect "nlsel " show addr deprecate prefer undeprecate which doctor unit completions help
expect "nlsel -" -n --netns -j --json -q --quiet -h --help -V --version
expect "nlsel -n $ns show dev " eth7 eth7p lo
expect "nlsel -n $ns show e" eth7 eth7p
expect "nlsel -n $ns -j addr show dev eth7" eth7 eth7p
expect "nlsel -n $ns deprecate --except ::2 --dev " eth7 eth7p lo
expect "nlsel -n $ns deprecate --except ::2 --ch" --check
expect "nlsel -n $ns undeprecate --dev eth7p" eth7p
expect "nlsel -n $ns prefer " 2001:db8:1::2 2001:db8:1::beef
expect "nlsel -n $ns prefer 2001:db8:1::beef --w" --watch
expect "nlsel -n $ns prefer 2001:db8:1::beef --probe " 
expect "nlsel -n $ns deprecate --except ::2 --probe " 
expect "nlsel -n $ns which 2001:db8::1 --" --dev --dport --explain --help --sport --tcp --udp
expect "nlsel -n $ns which fe80::1 --dev " eth7 eth7p lo
expect "nlsel -n $ns addr change " 127.0.0.1/8 ::1/128 192.0.2.9/24 2001:db8:1::2/64 2001:db8:1::beef/64 10.1.0.2/32
expect "nlsel -n $ns addr change 192.0.2.9/24 dev " eth7 eth7p lo
expect "nlsel -n $ns addr change 192.0.2.9/24 dev eth7 pre" preferred_lft
expect "nlsel -n $ns addr change 192.0.2.9/24 dev eth7 valid_lft " forever
expect "nlsel unit " deprecate prefer
expect "nlsel -n $ns unit deprecate --dev " eth7 eth7p lo
expect "nlsel completions " bash zsh fish
expect "nlsel -n $ns doctor --dev " eth7 eth7p lo
expect "nlsel -n $ns doctor --" --dev --probe --help
expect "nlsel -n $ns which 2001:db8::1 " 
# Bash splits "2001:db8:1::b" into several COMP_WORDS at ':'; the reply is what follows the
# last ':'.
line="nlsel -n $ns prefer 2001:db8:1::b"
COMP_LINE=$line COMP_POINT=${#line}
COMP_WORDS=(nlsel -n "$ns" prefer 2001 : db8 : 1 :: b)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_nlsel
[ "${COMPREPLY[*]}" = "beef" ] || { echo "bash: '$line' gives [${COMPREPLY[*]}], expected [beef]"; failures=$((failures + 1)); }
exit "$failures"
HARNESS
)
bash -c "$bash_test" harness "$tmp/nlsel.bash" "$ns" || fail "bash completion: see above"

# --- fish ------------------------------------------------------------------------------------
fish -n "$tmp/nlsel.fish" || fail "fish -n rejects the fish script"
fish_complete() {
  fish --no-config -c "source '$tmp/nlsel.fish'; complete -C '$1'" | cut -f1 | sort | paste -sd' '
}
expect_fish() {
  local line=$1 got want
  shift
  got=$(fish_complete "$line")
  want=$(printf '%s\n' "$@" | sort | paste -sd' ')
  [ "$got" = "$want" ] || fail "fish: '$line' completes to [$got], expected [$want]"
}
expect_fish "nlsel dep" deprecate
expect_fish "nlsel -n $ns show dev " eth7 eth7p lo
expect_fish "nlsel -n $ns deprecate --dev " eth7 eth7p lo
expect_fish "nlsel -n $ns prefer 2001" 2001:db8:1::2 2001:db8:1::beef
expect_fish "nlsel -n $ns addr change 192.0.2.9/24 dev eth7 valid_lft " forever
expect_fish "nlsel completions " bash zsh fish
expect_fish "nlsel -n $ns doctor --dev " eth7 eth7p lo
got=$(fish_complete "nlsel -n $ns deprecate --")
for option in --except --dev --dry-run --check --watch --help; do
  [[ " $got " == *" $option "* ]] || fail "fish: 'nlsel deprecate --' lacks $option: [$got]"
done

# --- zsh -------------------------------------------------------------------------------------
zsh -n "$tmp/nlsel.zsh" || fail "zsh -n rejects the zsh script"

# --- options: what --help lists, every script offers, and nothing else ------------------------
help=$(help_options "$bin" | awk '{ print $NF }' | sort -u)
for shell in bash zsh fish; do
  script=$tmp/nlsel.$shell
  for option in $help; do
    case $shell/$option in
      # fish spells options as `-s X` / `-l NAME` in `complete` lines.
      fish/--*) grep -qE -- "-l ${option#--}( |$)" "$script" ;;
      fish/-*) grep -qE -- "-s ${option#-}( |$)" "$script" ;;
      *) grep -qE -- "(^|[ '(\"{,])$option([ '\")},]|$)" "$script" ;;
    esac || fail "$shell completion does not offer $option, which --help lists"
  done
  # The options each script offers: bash's reply lists, zsh's compadd lists and option specs,
  # fish's -s/-l.
  case $shell in
    bash) offered=$(grep -E '_nlsel_reply "-' "$script" | grep -oE -- '(^|[ "])--?[A-Za-z][A-Za-z-]*' | tr -d ' "') ;;
    zsh) offered=$({
      grep -oE -- '\{-[^}]*\}' "$script" | tr -d '{}' | tr ',' '\n'
      grep -oE -- 'compadd -- [^;]*' "$script" | sed 's/^compadd -- //' | tr ' ' '\n'
    } | grep -E '^--?[A-Za-z]') ;;
    fish) offered=$(grep -E '^complete -c nlsel' "$script" | grep -oE -- ' -l [a-z-]+| -s [A-Za-z]' | awk '{ print ($1 == "-l" ? "--" : "-") $2 }') ;;
  esac
  [ -n "$offered" ] || fail "found no options in the $shell script"
  for option in $(sort -u <<<"$offered"); do
    grep -qxF -- "$option" <<<"$help" || fail "$shell completion offers $option, which no --help lists"
  done
done
echo "completions: ok (bash harness, fish complete -C, zsh -n, options match --help)"
