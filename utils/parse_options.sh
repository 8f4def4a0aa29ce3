#!/usr/bin/env bash
# parse_options.sh: turns --foo-bar value into foo_bar=value for the calling script (written
# for tse2).  Source it after the script's defaults are set:
#     nj=4; use_gpu=false
#     . utils/parse_options.sh
# Rules: an option must name a variable the script already defines (a typo is an error, not a
# new variable); a variable that holds true/false accepts only true/false; --config FILE sources
# FILE first (its lines set the same variables); --help prints the script's header comments
# ("help_message" when the script sets one).  Parsing stops at the first non-option argument or
# at "--".

_po_prog=$(basename "$0")
while true; do
    [ $# -eq 0 ] && break
    case "$1" in
    --)
        shift
        break
        ;;
    --help | -h)
        if [ -n "${help_message:-}" ]; then
            printf '%s\n' "${help_message}" >&2
        else
            sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
        fi
        exit 0
        ;;
    --config)
        [ $# -ge 2 ] || { echo "${_po_prog}: --config needs a file" >&2; exit 1; }
        [ -f "$2" ] || { echo "${_po_prog}: config file '$2' does not exist" >&2; exit 1; }
        # shellcheck disable=SC1090
        . "$2" || { echo "${_po_prog}: error sourcing config file '$2'" >&2; exit 1; }
        shift 2
        ;;
    --*=*)
        echo "${_po_prog}: write '--opt value', not '$1'" >&2
        exit 1
        ;;
    --*)
        _po_name=${1#--}
        _po_name=${_po_name//-/_}
        if ! [[ ${_po_name} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
            echo "${_po_prog}: invalid option name '$1'" >&2
            exit 1
        fi
        if [ -z "${!_po_name+set}" ]; then
            echo "${_po_prog}: invalid option $1 (no variable ${_po_name} in this script)" >&2
            exit 1
        fi
        if [ $# -lt 2 ]; then
            echo "${_po_prog}: option $1 needs a value" >&2
            exit 1
        fi
        _po_old=${!_po_name}
        printf -v "${_po_name}" '%s' "$2"
        if [ "${_po_old}" = true ] || [ "${_po_old}" = false ]; then
            if [ "$2" != true ] && [ "$2" != false ]; then
                echo "${_po_prog}: option $1 takes true or false, got '$2'" >&2
                exit 1
            fi
        fi
        shift 2
        ;;
    *)
        break
        ;;
    esac
done
unset _po_name _po_old _po_prog
true # so that a sourcing script with set -e never sees a failing last command
