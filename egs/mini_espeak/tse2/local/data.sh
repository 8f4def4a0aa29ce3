#!/usr/bin/env bash
# Stage 1 of the embedded recipe: synthesize the espeak-ng corpus and write data/{train,dev,test}.
# Plan speakers/utterances -> split the utterance list -> ${cmd} JOB=1:nj synthesis -> data dirs.
# Reruns skip utterances already synthesized from the same plan.
set -euo pipefail

# log, die, synthesize_plan and the options every local/data.sh takes (nj, cmd, fs, seed):
# utils/lib/local_data.sh
. utils/lib/local_data.sh

langs="en fr de es zh"     # languages (sentence lists in local/sentences/<lang>.txt)
speakers_per_lang="20 2 2" # speakers per language in train, dev, test (100 training speakers)
utts_per_speaker=10        # utterances per speaker
scale=1                    # multiplies speakers_per_lang (e.g. 10 for ~4000 utterances)
wav_dir=downloads/mini_espeak/wav
voices=espeak              # + recorded sources / synthesizers of tse2/corpus/voices.py, e.g. "espeak tuxpaint":
                           # any recorded source adds data/dev_real and data/test_real (held-out recorded speakers)
voices_splits=dev_real,test_real  # add "train" for data/voices_train (the pooled training corpus)
voices_max_utts=40         # utterances per voices speaker
voices_dir=../../../tools/voices  # where `make -C tools voices` unpacked the Debian packages

# shellcheck disable=SC1091
. ./path.sh
. utils/parse_options.sh

work=data/local/espeak
log "Planning the corpus (seed ${seed}, scale ${scale})"
python -m tse2.bin.espeak_corpus plan --sentence_dir local/sentences --outdir "${work}" \
    --langs "${langs}" --speakers_per_lang "${speakers_per_lang}" \
    --utts_per_speaker "${utts_per_speaker}" --scale "${scale}" --seed "${seed}"

synthesize_plan "${work}" "${wav_dir}"

log "Writing data dirs"
python -m tse2.bin.espeak_corpus datadir --plan "${work}/plan.jsonl" --wav_dir "${wav_dir}" \
    --data_root data --report "${work}/corpus.md"

if [ -n "$(echo "${voices}" | tr ', ' '\n\n' | grep -v '^espeak$' | grep -v '^$' || true)" ]; then
    log "Voices corpus: ${voices} (${voices_splits}; sources and licences: data/local/voices/corpus.md)"
    python -m tse2.bin.voices_corpus --voices "${voices}" --voices_dir "${voices_dir}" --data_root data \
        --wav_dir downloads/voices/wav --work_dir downloads/voices/work --fs "${fs}" --seed "${seed}" \
        --splits "${voices_splits}" --max_utts_per_speaker "${voices_max_utts}" --nj "${nj}" \
        --report data/local/voices/corpus.md
fi
