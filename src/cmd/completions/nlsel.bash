# bash completion for nlsel: source it, or save it as
# /usr/share/bash-completion/completions/nlsel (printed by `nlsel completions bash`).
# Interface names and addresses are read live from `nlsel [-n NETNS] show`.

_nlsel_show() {
    # The words of `nlsel show` in the namespace named on the command line; never fails.
    "$_nlsel_bin" "${_nlsel_ns[@]}" show 2>/dev/null
}

_nlsel_interfaces() {
    local first second rest
    while read -r first second rest; do
        [[ $first == *: ]] && printf '%s\n' "$second"
    done < <(_nlsel_show)
}

# $1 = all: every address as ADDR/LEN; global6: global IPv6 addresses without /LEN.
_nlsel_addresses() {
    local family address rest
    while read -r family address rest; do
        case $1/$family in
            all/inet | all/inet6)
                if [[ $rest == peer\ * ]]; then
                    address=${rest#peer }
                    address=${address%% *}
                fi
                printf '%s\n' "$address"
                ;;
            global6/inet6)
                [[ " $rest " == *" scope global "* ]] && printf '%s\n' "${address%/*}"
                ;;
        esac
    done < <(_nlsel_show)
}

# Replies: the words of $1 (names and addresses hold no white space) that start with the word
# being completed.
_nlsel_reply() {
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$_nlsel_cur")
}

_nlsel() {
    local -a words
    # Whole words, split at white space only: an IPv6 address is one word even though
    # COMP_WORDBREAKS splits COMP_WORDS at ':'.
    if [[ -n ${COMP_LINE-} ]]; then
        local line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
        read -ra words <<<"$line"
        [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
    else
        words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
    fi
    local cword=$((${#words[@]} - 1))
    _nlsel_cur=${words[cword]}
    local prev=
    ((cword > 0)) && prev=${words[cword - 1]}
    _nlsel_bin=${words[0]}
    _nlsel_ns=()
    COMPREPLY=()

    local i=1 command=
    while ((i < cword)); do
        case ${words[i]} in
            -n | --netns) _nlsel_ns=(-n "${words[i + 1]}"); ((i += 2)) ;;
            -*) ((i++)) ;;
            *) command=${words[i]}; ((i++)); break ;;
        esac
    done
    if [[ -z $command ]]; then
        case $prev in
            -n | --netns)
                _nlsel_reply "$(ls /run/netns 2>/dev/null)"
                ;;
            *)
                if [[ $_nlsel_cur == -* ]]; then
                    _nlsel_reply "-n --netns -j --json -q --quiet -h --help -V --version"
                else
                    _nlsel_reply "show addr deprecate prefer undeprecate which doctor unit completions help"
                fi
                ;;
        esac
        _nlsel_trim_colons
        return 0
    fi
    if [[ $command == unit ]]; then
        if ((i == cword)); then
            _nlsel_reply "deprecate prefer"
            return 0
        fi
        command=${words[i]}
        ((i++))
    fi
    if [[ $command == addr || $command == address ]]; then
        if ((i == cword)); then
            _nlsel_reply "show change"
            return 0
        fi
        command="addr ${words[i]}"
        ((i++))
    fi
    # Words after the command that are neither options nor their values.
    local -a positional=()
    local j
    for ((j = i; j < cword; j++)); do
        case ${words[j]} in
            --except | --dev | --probe | dev | preferred_lft | valid_lft) ((j++)) ;;
            -*) ;;
            *) positional+=("${words[j]}") ;;
        esac
    done

    case $command in
        show | "addr show" | "addr list")
            if [[ $prev == dev ]]; then
                _nlsel_reply "$(_nlsel_interfaces)"
            elif ((${#positional[@]} == 0)); then
                _nlsel_reply "dev
$(_nlsel_interfaces)
-h
--help"
            fi
            ;;
        deprecate)
            case $prev in
                --dev) _nlsel_reply "$(_nlsel_interfaces)" ;;
                --except | --probe) ;;
                *) _nlsel_reply "--except --dev --dry-run --check --watch --probe -h --help" ;;
            esac
            ;;
        prefer)
            if [[ $prev == --probe ]]; then
                :
            elif ((${#positional[@]} == 0)) && [[ $_nlsel_cur != -* ]]; then
                _nlsel_reply "$(_nlsel_addresses global6)"
            else
                _nlsel_reply "--dry-run --check --watch --probe -h --help"
            fi
            ;;
        undeprecate)
            case $prev in
                --dev) _nlsel_reply "$(_nlsel_interfaces)" ;;
                *) _nlsel_reply "--dev -h --help" ;;
            esac
            ;;
        "addr change")
            case $prev in
                dev) _nlsel_reply "$(_nlsel_interfaces)" ;;
                preferred_lft | valid_lft) _nlsel_reply "forever" ;;
                *)
                    if ((${#positional[@]} == 0)) && [[ $_nlsel_cur != -* ]]; then
                        _nlsel_reply "$(_nlsel_addresses all)"
                    else
                        _nlsel_reply "dev preferred_lft valid_lft -h --help"
                    fi
                    ;;
            esac
            ;;
        which)
            if [[ $prev == --dev ]]; then
                _nlsel_reply "$(_nlsel_interfaces)"
            elif [[ $_nlsel_cur == -* ]]; then
                _nlsel_reply "--dev --udp --tcp --sport --dport --explain -h --help"
            fi
            ;;
        doctor)
            case $prev in
                --dev) _nlsel_reply "$(_nlsel_interfaces)" ;;
                --probe) ;;
                *) _nlsel_reply "--dev --probe -h --help" ;;
            esac
            ;;
        completions)
            ((${#positional[@]} == 0)) && _nlsel_reply "bash zsh fish"
            ;;
    esac
    _nlsel_trim_colons
    return 0
}

# Bash splits the word being completed at ':' (COMP_WORDBREAKS); each reply must then be
# only the part after the last ':' of the word typed so far.
_nlsel_trim_colons() {
    if [[ $_nlsel_cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local prefix=${_nlsel_cur%"${_nlsel_cur##*:}"} k
        for k in "${!COMPREPLY[@]}"; do
            COMPREPLY[k]=${COMPREPLY[k]#"$prefix"}
        done
    fi
}

complete -F _nlsel nlsel
