#!/usr/bin/env bash
# setup.sh <new-recipe-dir>: a tse2 recipe skeleton (egs/TEMPLATE/common/setup.sh makes one of any task).
exec "$(dirname "$0")/../common/setup.sh" tse2 "$@"
