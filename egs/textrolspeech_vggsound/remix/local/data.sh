#!/usr/bin/env bash
# Stage 1 of the paper-corpora remix recipe: speaker-disjoint TextrolSpeech data dirs
# data/{train,dev,test} (utt2spk, spk2gender, utt2style) and the sound clips of VGGSound and/or
# FSD50K as data/sounds_{train,valid,test[,unseen]} (utt2category).  Paths: db.sh.  Layouts and
# label maps: tse2/corpus/remix_corpora.py.
set -euo pipefail

nj=1                 # unused (the preparation is one job); kept for remix.sh
cmd=run.pl           # unused
fs=16000
resample_dir=downloads/resampled
unseen=              # sound categories kept for the zero-shot set only (comma-separated labels)

# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./db.sh
. utils/parse_options.sh

if [ -z "${TEXTROLSPEECH}" ] || [ -z "${VGGSOUND}${FSD50K}" ]; then
    echo "local/data.sh: set TEXTROLSPEECH and VGGSOUND or FSD50K in db.sh (or the environment)" >&2
    exit 1
fi
python -m tse2.bin.prep_remix_corpora --textrolspeech "${TEXTROLSPEECH}" \
    ${TEXTROLSPEECH_CAPTIONS:+--captions "${TEXTROLSPEECH_CAPTIONS}"} \
    --vggsound "${VGGSOUND}" --vggsound_audio "${VGGSOUND_AUDIO}" --fsd50k "${FSD50K}" \
    --unseen "${unseen}" --data_root data --resample_dir "${resample_dir}" --fs "${fs}"
