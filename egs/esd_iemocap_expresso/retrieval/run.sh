#!/usr/bin/env bash
# The paper's setup: train on IEMOCAP + ESD (English) + Expresso, test on ESD and Expresso apart.
# Corpora paths in db.sh. The paper's encoders (emotion2vec or WavLM, RoBERTa) are local Hugging
# Face directories named in conf/retrieval.yaml (no model hub here: copy them to pretrained/).
set -euo pipefail

./retrieval.sh \
    --fs 16000 \
    --train_set train \
    --valid_set dev \
    --test_sets "test_esd test_expresso" \
    --nj 8 \
    --ret_config conf/retrieval.yaml \
    --separability false \
    "$@"
