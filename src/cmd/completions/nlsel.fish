# fish completion for nlsel: save it as ~/.config/fish/completions/nlsel.fish or
# /usr/share/fish/vendor_completions.d/nlsel.fish (printed by `nlsel completions fish`).
# Interface names and addresses are read live from `nlsel [-n NETNS] show`.

function __nlsel_show
    set -l words (commandline -opc)
    set -l ns
    for k in (seq 2 (count $words))
        if contains -- $words[$k] -n --netns; and test $k -lt (count $words)
            set ns -n $words[(math $k + 1)]
        end
    end
    $words[1] $ns show 2>/dev/null
end

function __nlsel_interfaces
    __nlsel_show | string match -r '^[0-9]+: (.*)$' | string match -rv '^[0-9]+: '
end

function __nlsel_global6
    __nlsel_show | string match -r '^\s+inet6 (\S+)/\d+ .*scope global' | string match -rv '^\s'
end

function __nlsel_addresses
    for line in (__nlsel_show | string match -r '^\s+inet6? .*')
        set -l fields (string split -n ' ' -- (string trim -- $line))
        if test "$fields[3]" = peer
            echo $fields[4]
        else
            echo $fields[2]
        end
    end
end

# The command and, for `addr` and `unit`, its subcommand: the words after the global options.
function __nlsel_command
    set -l words (commandline -opc)
    set -l found
    set -l skip 0
    for word in $words[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if test -z "$found"
            switch $word
                case -n --netns
                    set skip 1
                case '-*'
                case '*'
                    set found $word
            end
        else if contains -- $found[1] addr address unit; and test (count $found) = 1
            set -a found $word
            break
        else
            break
        end
    end
    string join ' ' -- $found
end

function __nlsel_at
    contains -- (__nlsel_command) $argv
end

function __nlsel_prev_is
    set -l words (commandline -opc)
    contains -- $words[-1] $argv
end

complete -c nlsel -f
complete -c nlsel -n 'test -z (__nlsel_command)' -s n -l netns -x -a '(ls /run/netns 2>/dev/null)' -d 'network namespace'
complete -c nlsel -n 'test -z (__nlsel_command)' -s j -l json -d 'print JSON'
complete -c nlsel -n 'test -z (__nlsel_command)' -s q -l quiet -d 'print nothing on stdout'
complete -c nlsel -s h -l help -d 'show the help'
complete -c nlsel -n 'test -z (__nlsel_command)' -s V -l version -d 'show the version'

complete -c nlsel -n 'test -z (__nlsel_command)' -a show -d 'list addresses'
complete -c nlsel -n 'test -z (__nlsel_command)' -a addr -d 'addr show | addr change'
complete -c nlsel -n 'test -z (__nlsel_command)' -a deprecate -d 'deprecate addresses matching no pattern'
complete -c nlsel -n 'test -z (__nlsel_command)' -a prefer -d 'make ADDR the preferred address'
complete -c nlsel -n 'test -z (__nlsel_command)' -a undeprecate -d 'make deprecated addresses preferred'
complete -c nlsel -n 'test -z (__nlsel_command)' -a which -d 'source address for a destination'
complete -c nlsel -n 'test -z (__nlsel_command)' -a doctor -d 'check that the choice survives this host'
complete -c nlsel -n 'test -z (__nlsel_command)' -a unit -d 'print a systemd unit'
complete -c nlsel -n 'test -z (__nlsel_command)' -a completions -d 'print a completion script'
complete -c nlsel -n 'test -z (__nlsel_command)' -a help -d 'show the help'

complete -c nlsel -n '__nlsel_at addr address' -a 'show change'
complete -c nlsel -n '__nlsel_at unit' -a 'deprecate prefer'
complete -c nlsel -n '__nlsel_at completions' -a 'bash zsh fish'

complete -c nlsel -n '__nlsel_at show "addr show" "addr list"; and not __nlsel_prev_is dev' -a 'dev (__nlsel_interfaces)'
complete -c nlsel -n '__nlsel_at show "addr show" "addr list" "addr change"; and __nlsel_prev_is dev' -a '(__nlsel_interfaces)'

set -l dep '__nlsel_at deprecate "unit deprecate"'
complete -c nlsel -n $dep -l except -x -d 'address or prefix to keep preferred'
complete -c nlsel -n $dep -l dev -x -a '(__nlsel_interfaces)' -d 'only this interface'
complete -c nlsel -n $dep -l dry-run -d 'print the equivalent ip commands'
complete -c nlsel -n $dep -l check -d 'exit 3 if anything would change'
complete -c nlsel -n $dep -l watch -d 'keep running'
complete -c nlsel -n $dep -l probe -x -d 'destination whose source to report'

set -l pref '__nlsel_at prefer "unit prefer"'
complete -c nlsel -n "$pref; and not __nlsel_prev_is --probe" -a '(__nlsel_global6)' -d 'global IPv6 address'
complete -c nlsel -n $pref -l watch -d 'keep running'
complete -c nlsel -n $pref -l dry-run -d 'print the equivalent ip commands'
complete -c nlsel -n $pref -l check -d 'exit 3 if anything would change'
complete -c nlsel -n $pref -l probe -x -d 'destination whose source to report'

complete -c nlsel -n '__nlsel_at undeprecate' -l dev -x -a '(__nlsel_interfaces)' -d 'only this interface'

set -l change '__nlsel_at "addr change"; and not __nlsel_prev_is dev preferred_lft valid_lft'
complete -c nlsel -n $change -a '(__nlsel_addresses)' -d address
complete -c nlsel -n $change -a 'dev preferred_lft valid_lft'
complete -c nlsel -n '__nlsel_at "addr change"; and __nlsel_prev_is preferred_lft valid_lft' -a forever

complete -c nlsel -n '__nlsel_at which' -l explain -d 'explain the choice rule by rule'
complete -c nlsel -n '__nlsel_at which' -l dev -x -a '(__nlsel_interfaces)'
complete -c nlsel -n '__nlsel_at which' -l udp -l tcp
complete -c nlsel -n '__nlsel_at which' -l sport -l dport -x

complete -c nlsel -n '__nlsel_at doctor' -l dev -x -a '(__nlsel_interfaces)' -d 'only this interface'
complete -c nlsel -n '__nlsel_at doctor' -l probe -x -d 'destination whose source to report'
