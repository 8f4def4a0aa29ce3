#!/usr/bin/env bash
# Stage 1 of the embedded retrieval recipe: synthesize the expressive espeak-ng corpus (every speaker
# speaks each of the 13 styles of tse2/corpus/styles.py) and write data/{train,dev,test} with
# utt2style.  Reruns skip utterances already synthesized from the same plan.
#   --voices espeak,mbrola  the MBROLA voices (recorded speakers' diphones) speak the styles too, in
#                           train and dev (needs `make -C tools voices-mbrola`)
#   --real_test true        also data/test_real: the styles spoken by 6 MBROLA voices held out from
#                           every training (the real-voice style test set; needs the MBROLA voices)
set -euo pipefail

# log, die, synthesize_plan and the options every local/data.sh takes (nj, cmd, fs, seed):
# utils/lib/local_data.sh
. utils/lib/local_data.sh

langs="en fr de es zh"     # languages (sentence lists in local/sentences/<lang>.txt)
speakers_per_lang="12 4 4" # speakers per language in train, dev, test (6 2 2: R@1 0.772, README)
utts_per_style=4           # utterances of each style per speaker
styles=all                 # styles (names of tse2/corpus/styles.py), or all
scale=1                    # multiplies speakers_per_lang
voices=espeak              # who speaks the training and dev styles: espeak, or espeak,mbrola
real_test=false            # also write data/test_real (held-out MBROLA voices)
mbrola_utts_per_style=8    # utterances of each style per MBROLA voice
wav_dir=downloads/mini_espeak_styles/wav

# shellcheck disable=SC1091
. ./path.sh
. utils/parse_options.sh

mbrola_splits=""
for v in ${voices//,/ }; do
    case "${v}" in
        espeak) ;;
        mbrola) mbrola_splits="train dev" ;;
        *) log "Error: unknown voices '${v}' (espeak, mbrola)" >&2; exit 1 ;;
    esac
done
[ "${real_test}" = true ] && mbrola_splits="${mbrola_splits} test_real"
if [ -n "${mbrola_splits}" ]; then  # a one-line error when the voices are not installed
    python -c 'import sys
from tse2.corpus.mbrola import MbrolaMissing, mbrola_paths
try:
    mbrola_paths(sys.argv[1])
except MbrolaMissing as exc:
    sys.exit(f"local/data.sh: error: {exc}")' "${MAIN_ROOT}/tools/voices"
fi

work=data/local/espeak_styles
log "Planning the expressive corpus (seed ${seed}, scale ${scale})"
python -m tse2.bin.espeak_corpus plan --sentence_dir local/sentences --outdir "${work}" --styles "${styles}" \
    --langs "${langs}" --speakers_per_lang "${speakers_per_lang}" \
    --utts_per_speaker "${utts_per_style}" --scale "${scale}" --seed "${seed}" \
    --mbrola_splits "${mbrola_splits}" --mbrola_utts_per_style "${mbrola_utts_per_style}" \
    --voices_dir "${MAIN_ROOT}/tools/voices"

synthesize_plan "${work}" "${wav_dir}" --voices_dir "${MAIN_ROOT}/tools/voices"

log "Writing data dirs"
python -m tse2.bin.espeak_corpus datadir --plan "${work}/plan.jsonl" --wav_dir "${wav_dir}" \
    --data_root data --report "${work}/corpus.md" > /dev/null
for d in train dev test test_real; do
    [ ! -d "data/${d}" ] || cp "data/${d}/utt2emotion" "data/${d}/utt2style"  # the plan keeps the style there
done
cat "${work}/corpus.md"
