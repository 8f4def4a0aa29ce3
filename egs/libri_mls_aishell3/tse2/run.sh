#!/usr/bin/env bash
# LibriSpeech (en) + MLS (fr, de, es) + AISHELL-3 (zh): the corpora of the paper's dataset.
# Set the corpus roots in db.sh (or export LIBRISPEECH, MLS, AISHELL3) before stage 1.
set -euo pipefail

./tse2.sh \
    --fs 16000 \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --nj 16 \
    "$@"
