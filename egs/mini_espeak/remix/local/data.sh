#!/usr/bin/env bash
# Stage 1 of the embedded remix recipe:
#  - speech: the espeak-ng corpus in 9 speaking styles (tse2/corpus/styles.py), speaker-disjoint
#    data/{train,dev,test} with utt2spk, spk2gender and utt2style;
#  - audio: the sound bank of real recordings from Debian data packages (tse2/corpus/sounds.py),
#    clip-disjoint data/sounds_{train,valid,test} and the held-out categories in data/sounds_unseen.
# Reruns skip utterances and clips already written.
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}

nj=2                       # parallel synthesis jobs
cmd=run.pl                 # job runner
fs=16000                   # output sample rate
langs="en fr de es zh"     # languages (sentence lists in local/sentences/<lang>.txt)
speakers_per_lang="12 4 4" # speakers per language in train, dev, test
utts_per_style=3           # utterances of each style per speaker
styles="neutral happy sad angry whispered fast slow high-pitched low-pitched"
seed=0                     # corpus seed: same seed, same corpus
wav_dir=downloads/mini_espeak_remix/wav
bank_dir=downloads/sound_bank

# shellcheck disable=SC1091
. ./path.sh
. utils/parse_options.sh

work=data/local/espeak_styles
log "Planning the speech corpus (seed ${seed}; styles: ${styles})"
python -m tse2.bin.espeak_corpus plan --sentence_dir local/sentences --outdir "${work}" --styles "${styles}" \
    --langs "${langs}" --speakers_per_lang "${speakers_per_lang}" \
    --utts_per_speaker "${utts_per_style}" --seed "${seed}"

split_dir=${work}/split
rm -rf "${split_dir}"
nj=$(utils/split_list.sh "${work}/utt.list" "${split_dir}" "${nj}" utt.list)

log "Synthesizing $(wc -l < "${work}/utt.list") utterances with ${nj} jobs (logs: ${work}/log/synth.*.log)"
${cmd} JOB=1:"${nj}" "${work}/log/synth.JOB.log" \
    python -m tse2.bin.espeak_corpus synth --plan "${work}/plan.jsonl" \
        --utt_list "${split_dir}/utt.list.JOB" --wav_dir "${wav_dir}" --fs "${fs}"

log "Writing speech data dirs"
python -m tse2.bin.espeak_corpus datadir --plan "${work}/plan.jsonl" --wav_dir "${wav_dir}" \
    --data_root data --report "${work}/corpus.md" > /dev/null
for d in train dev test; do
    [ ! -d "data/${d}" ] || cp "data/${d}/utt2emotion" "data/${d}/utt2style"  # the plan keeps the style there
done

log "Writing the sound bank (${bank_dir})"
python -m tse2.bin.remix_data bank --wav_dir "${bank_dir}" --data_root data --fs "${fs}" \
    --report data/local/sound_bank.md
