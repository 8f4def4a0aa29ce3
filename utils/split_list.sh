#!/usr/bin/env bash
# split_list.sh <list> <dir> <nj> <name>: splits a key-value list into at most nj parts
# <dir>/<name>.1 ... <dir>/<name>.N (N = min(nj, lines)) with split_scp.pl and prints N, so a
# stage can run `${cmd} JOB=1:N ... <dir>/<name>.JOB` without ever handing a job an empty list.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 <list> <dir> <nj> <name>" >&2; exit 1; }
list=$1; dir=$2; nj=$3; name=$4
[ -s "${list}" ] || { echo "$0: ${list} is missing or empty" >&2; exit 1; }
lines=$(wc -l < "${list}")
[ "${nj}" -le "${lines}" ] || nj=${lines}
mkdir -p "${dir}"
parts=()
for n in $(seq "${nj}"); do parts+=("${dir}/${name}.${n}"); done
"$(dirname "$0")/split_scp.pl" "${list}" "${parts[@]}"
echo "${nj}"
