#!/usr/bin/env bash
# doc/nlsel.8: `mandoc -Tlint` reports nothing; every option and command that a --help lists
# is in the page, and every option the page gives (`Fl`) is in some --help.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need mandoc:mandoc

page=doc/nlsel.8
bin=$(nlsel_bin)

# mandoc also notes, on stderr, Xr targets missing from this machine's outdated mandoc.db:
# that is about the machine, not the page.
lint=$(mandoc -Tlint "$page" 2>&1 | grep -v '^mandoc: outdated mandoc.db lacks ' || true)
[ -z "$lint" ] || fail "mandoc -Tlint $page reports:
$lint"

page_options=$(grep -oE '(^|[ .])Fl -?[A-Za-z][A-Za-z-]*' "$page" | sed -E 's/^[ .]?Fl /-/' | sort -u)
help=$(help_options "$bin")
missing=0
while read -r line; do
  option=${line##* } command=${line% *}
  if ! grep -qxF -- "$option" <<<"$page_options"; then
    echo "missing from $page: $option (listed by \`nlsel ${command#nlsel} --help\`)" >&2
    missing=1
  fi
done <<<"$help"
help_words=$(awk '{ print $NF }' <<<"$help")
for option in $page_options; do
  if ! grep -qxF -- "$option" <<<"$help_words"; then
    echo "$page gives $option, which no --help lists" >&2
    missing=1
  fi
done
# Commands: the first word of each line of the Commands: section of `nlsel --help`.
commands=$("$bin" --help | awk '/^Commands:/ { on = 1; next } /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }' | sort -u)
[ -n "$commands" ] || fail "found no commands in nlsel --help"
for command in $commands; do
  grep -qE "^\.It Cm $command( |$)" "$page" || {
    echo "missing from $page: the command $command (an .It Cm $command entry)" >&2
    missing=1
  }
done
[ "$missing" = 0 ] || fail "$page and --help disagree (see above)"

# man on an 80-column terminal: every line fits (no literal too long to break).
wide=$(mandoc -Tascii -O width=80 "$page" | col -b | awk 'length > 80 { print NR ": " $0 }')
[ -z "$wide" ] || fail "$page has lines that cannot break at 80 columns:
$wide"
# Every --check exits 3 when it finds work; EXIT STATUS says so for each command that has one.
status=$(mandoc -Tascii -O width=80 "$page" | col -b | sed -n '/^EXIT STATUS/,/^[A-Z]/p' | tr -s ' \n' ' ')
for command in deprecate prefer; do
  [[ $status == *"$command --check"* ]] || fail "$page: EXIT STATUS does not give 3 for $command --check"
done
echo "man page: ok (mandoc -Tlint clean; $(wc -l <<<"$page_options") options and $(wc -w <<<"$commands") commands match --help)"
