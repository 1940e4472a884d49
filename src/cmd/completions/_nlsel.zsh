#compdef nlsel
# zsh completion for nlsel: save it as _nlsel in a directory of $fpath (printed by
# `nlsel completions zsh`). Interface names and addresses are read live from
# `nlsel [-n NETNS] show`.

_nlsel_show() {
  local -a ns
  local k
  for (( k = 2; k < CURRENT; k++ )); do
    case $words[k] in
      (-n|--netns) ns=(-n $words[k+1]) ;;
    esac
  done
  _call_program nlsel-show $words[1] $ns show 2>/dev/null
}

_nlsel_interfaces() {
  local -a names
  local line
  for line in ${(f)"$(_nlsel_show)"}; do
    [[ $line == [0-9]*:\ * ]] && names+=(${line#*: })
  done
  _describe -t interfaces 'interface' names
}

# $1 = all: every address as ADDR/LEN; global6: global IPv6 addresses without /LEN.
_nlsel_addresses() {
  local -a found fields
  local line
  for line in ${(f)"$(_nlsel_show)"}; do
    fields=(${=line})
    case $1/$fields[1] in
      (all/inet|all/inet6)
        if [[ $fields[3] == peer ]]; then found+=($fields[4]); else found+=($fields[2]); fi ;;
      (global6/inet6)
        [[ " $line " == *" scope global "* ]] && found+=(${fields[2]%/*}) ;;
    esac
  done
  compadd -a found
}

_nlsel() {
  local -a globals commands
  globals=(
    '(-n --netns)'{-n,--netns}'[work in network namespace /run/netns/NETNS]:namespace:_files -W /run/netns'
    '(-j --json)'{-j,--json}'[print JSON]'
    '(-q --quiet)'{-q,--quiet}'[print nothing on stdout]'
    '(- *)'{-h,--help}'[show the help]'
    '(- *)'{-V,--version}'[show the version]'
  )
  commands=(
    'show:list addresses with scope, flags and lifetimes'
    'addr:addr show | addr change'
    'deprecate:deprecate every global IPv6 address matching no pattern'
    'prefer:make ADDR preferred, deprecate the others on its interface'
    'undeprecate:make deprecated global IPv6 addresses preferred again'
    'which:print the source address the kernel would use for DEST'
    'doctor:check that the choice survives this host, and print fixes'
    'unit:print a systemd unit that runs deprecate or prefer'
    'completions:print a shell completion script'
    'help:show the help'
  )
  local i=2 command
  while (( i < CURRENT )); do
    case $words[i] in
      (-n|--netns) (( i += 2 )) ;;
      (-*) (( i++ )) ;;
      (*) command=$words[i]; (( i++ )); break ;;
    esac
  done
  if [[ -z $command ]]; then
    if [[ $words[CURRENT-1] == (-n|--netns) ]]; then
      _files -W /run/netns
    elif [[ $PREFIX == -* ]]; then
      _arguments -s $globals
    else
      _describe -t commands 'nlsel command' commands
    fi
    return
  fi
  if [[ $command == unit ]]; then
    if (( i == CURRENT )); then
      compadd deprecate prefer
      return
    fi
    command=$words[i]
    (( i++ ))
  fi
  if [[ $command == (addr|address) ]]; then
    if (( i == CURRENT )); then
      compadd show change
      return
    fi
    command="addr $words[i]"
    (( i++ ))
  fi
  local prev=$words[CURRENT-1]
  local -a positional
  local j
  for (( j = i; j < CURRENT; j++ )); do
    case $words[j] in
      (--except|--dev|--probe|dev|preferred_lft|valid_lft) (( j++ )) ;;
      (-*) ;;
      (*) positional+=($words[j]) ;;
    esac
  done
  case $command in
    (show|'addr show'|'addr list')
      if [[ $prev == dev ]]; then
        _nlsel_interfaces
      elif (( $#positional == 0 )); then
        compadd dev -h --help
        _nlsel_interfaces
      fi ;;
    (deprecate)
      case $prev in
        (--dev) _nlsel_interfaces ;;
        (--except) _message 'address or prefix' ;;
        (--probe) _message 'destination address' ;;
        (*) compadd -- --except --dev --dry-run --check --watch --probe -h --help ;;
      esac ;;
    (prefer)
      if [[ $prev == --probe ]]; then
        _message 'destination address'
      elif (( $#positional == 0 )) && [[ $PREFIX != -* ]]; then
        _nlsel_addresses global6
      else
        compadd -- --dry-run --check --watch --probe -h --help
      fi ;;
    (undeprecate)
      if [[ $prev == --dev ]]; then _nlsel_interfaces; else compadd -- --dev -h --help; fi ;;
    ('addr change')
      case $prev in
        (dev) _nlsel_interfaces ;;
        (preferred_lft|valid_lft) compadd forever ;;
        (*)
          if (( $#positional == 0 )) && [[ $PREFIX != -* ]]; then
            _nlsel_addresses all
          else
            compadd -- dev preferred_lft valid_lft -h --help
          fi ;;
      esac ;;
    (which)
      if [[ $PREFIX == -* ]]; then compadd -- --dev --udp --tcp --sport --dport --explain -h --help; else _message 'destination'; fi ;;
    (doctor)
      case $prev in
        (--dev) _nlsel_interfaces ;;
        (--probe) _message 'destination' ;;
        (*) compadd -- --dev --probe -h --help ;;
      esac ;;
    (completions)
      (( $#positional == 0 )) && compadd bash zsh fish ;;
  esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _nlsel "$@"
else
  compdef _nlsel nlsel
fi
