#!/usr/bin/env bash
# Embedded text-guided remixing recipe (Listen, Chat, and Remix): 2 espeak-ng talkers in 9 speaking
# styles + 2 real recorded sounds from Debian data packages per mixture, the 16 tasks of Table I;
# CPU only, nothing downloaded.  It stands on the released remixer and cascade separator
# (released/*/README.md: how they were trained); from scratch:
#   ./run.sh --remix_model "" --cascade_model ""      (10 + 10 epochs of conf/*.yaml, ~15 min more)
set -euo pipefail

./remix.sh \
    --fs 16000 \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --nj 2 \
    --remix_config conf/remix.yaml \
    --remix_model released/remix_blstm_minilm \
    --cascade_model released/remix_cascade_blstm4 \
    "$@"
