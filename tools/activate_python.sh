# shellcheck shell=bash
# Sourced by every recipe's path.sh: activates the virtualenv that `make install` built.
_tse2_tools="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f "${_tse2_tools}/venv/bin/activate" ]; then
    echo "error: ${_tse2_tools}/venv does not exist; run 'make install' in the tse2 root first" >&2
    # shellcheck disable=SC2317  # exit only runs when this file is executed, not sourced
    return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
. "${_tse2_tools}/venv/bin/activate"
unset _tse2_tools
