#!/usr/bin/env bash
# Stage 1 of the paper-corpora retrieval recipe: Kaldi data dirs of IEMOCAP (all of it, training),
# ESD English and Expresso read speech (their standard splits), in the paper's 22 style names.
# Paths: db.sh. Layouts and label maps: tse2/corpus/expressive.py.
set -euo pipefail

nj=1                 # unused (the preparation is one job); kept for retrieval.sh
cmd=run.pl           # unused
fs=16000
resample_dir=downloads/resampled

# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./db.sh
. utils/parse_options.sh

if [ -z "${IEMOCAP}${ESD}${EXPRESSO}" ]; then
    echo "local/data.sh: set IEMOCAP, ESD or EXPRESSO in db.sh (or the environment)" >&2
    exit 1
fi
python -m tse2.bin.prep_expressive --iemocap "${IEMOCAP}" --esd "${ESD}" --expresso "${EXPRESSO}" \
    --data_root data --resample_dir "${resample_dir}" --fs "${fs}"
