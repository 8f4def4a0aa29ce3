#!/usr/bin/env bash
# The paper's setup (Listen, Chat, and Remix): 2 TextrolSpeech utterances + 2 VGGSound/FSD50K clips
# per 5 s mixture, the 16 tasks, LCR-T (dual-path transformer SoundRemixer, LLaMA2 PromptReader with
# LoRA r 16).  Corpora paths in db.sh.  The PromptReader is a local Hugging Face directory named in
# conf/remix.yaml (no model hub here: copy Llama-2-7b-chat-hf to pretrained/llama2-7b-chat).
# On a GPU: ./run.sh --ngpu 1; the cascade's separator starts from nothing (no released one here).
set -euo pipefail

./remix.sh \
    --fs 16000 \
    --train_set train \
    --valid_set dev \
    --test_sets test \
    --length 5.0 \
    --n_train_slots 20000 \
    --n_valid 800 \
    --n_test 3200 \
    --nj 8 \
    --remix_config conf/remix.yaml \
    --cascade_config conf/remix_cascade.yaml \
    "$@"
