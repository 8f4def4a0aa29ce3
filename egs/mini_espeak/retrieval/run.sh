#!/usr/bin/env bash
# Embedded expressive speech retrieval recipe: 13 speaking styles synthesized offline with espeak-ng
# (tse2/corpus/styles.py), 5 languages, speaker-disjoint splits; CPU only, nothing downloaded.
set -euo pipefail

./retrieval.sh \
    --fs 16000 \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --nj 2 \
    --ret_config conf/retrieval.yaml \
    --example_queries "sounds like they are about to cry|someone yelling at me furiously|a voice so quiet I can barely hear it" \
    "$@"
