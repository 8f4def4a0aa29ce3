#!/usr/bin/env bash
# Stage 1: LibriSpeech (en) + MLS (fr, de, es) + AISHELL-3 (zh) data dirs from the paths in db.sh.
# No download: the corpora must already be on disk (see README.md for where to get them).
set -euo pipefail

# log, die, synthesize_plan and the options every local/data.sh takes (nj, cmd, fs, seed):
# utils/lib/local_data.sh
. utils/lib/local_data.sh

mls_languages="french german spanish"
aishell3_dev_speakers=8
resample_dir=downloads/resampled      # AISHELL-3 (44.1 kHz) is resampled to ${fs} here once
skip_bad_audio=false

# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./db.sh
. utils/parse_options.sh

if [ -z "${LIBRISPEECH}" ] && [ -z "${MLS}" ] && [ -z "${AISHELL3}" ]; then
    log "Error: set LIBRISPEECH, MLS and/or AISHELL3 in db.sh (or the environment) to the corpus roots"
    exit 1
fi
extra=()
[ "${skip_bad_audio}" = true ] && extra+=(--skip_bad_audio)
log "Preparing data dirs (LibriSpeech='${LIBRISPEECH}' MLS='${MLS}' AISHELL-3='${AISHELL3}')"
python -m tse2.bin.prep_libri_mls_aishell3 \
    --librispeech "${LIBRISPEECH}" --mls "${MLS}" --mls_languages "${mls_languages}" \
    --aishell3 "${AISHELL3}" --aishell3_dev_speakers "${aishell3_dev_speakers}" \
    --data_root data --fs "${fs}" --resample_dir "${resample_dir}" "${extra[@]}"
