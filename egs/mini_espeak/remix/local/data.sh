#!/usr/bin/env bash
# Stage 1 of the embedded remix recipe:
#  - speech: the retrieval recipe's espeak-ng style corpus (../retrieval/local/data.sh, the same
#    synthesis and data dirs) in 9 speaking styles: speaker-disjoint data/{train,dev,test} with
#    utt2spk, spk2gender and utt2style;
#  - audio: the sound bank of real recordings from Debian data packages (tse2/corpus/sounds.py),
#    clip-disjoint data/sounds_{train,valid,test} and the held-out categories in data/sounds_unseen.
# Reruns skip utterances and clips already written.
set -euo pipefail

# log, die, synthesize_plan and the options every local/data.sh takes (nj, cmd, fs, seed):
# utils/lib/local_data.sh
. utils/lib/local_data.sh

langs="en fr de es zh"     # languages (sentence lists in local/sentences/<lang>.txt)
speakers_per_lang="12 4 4" # speakers per language in train, dev, test
utts_per_style=3           # utterances of each style per speaker
styles="neutral happy sad angry whispered fast slow high-pitched low-pitched"
wav_dir=downloads/mini_espeak_remix/wav
bank_dir=downloads/sound_bank

# shellcheck disable=SC1091
. ./path.sh
. utils/parse_options.sh

../retrieval/local/data.sh --nj "${nj}" --cmd "${cmd}" --fs "${fs}" --langs "${langs}" \
    --speakers_per_lang "${speakers_per_lang}" --utts_per_style "${utts_per_style}" \
    --styles "${styles// /,}" --seed "${seed}" --wav_dir "${wav_dir}"

log "Writing the sound bank (${bank_dir})"
python -m tse2.bin.remix_data bank --wav_dir "${bank_dir}" --data_root data --fs "${fs}" \
    --report data/local/sound_bank.md
