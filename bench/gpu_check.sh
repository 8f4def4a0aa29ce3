#!/usr/bin/env bash
# The prepared GPU check (issue 34): what the paper separator and the real-voices separator cost on
# a GPU, with on-device dynamic mixing (tse2.bin.sep_train_fast), bf16 autocast off and on.
# Four runs, one after another (clean steps/s and peak memory), MINUTES each (default 2.5):
#   loco_fp32, loco_bf16    TF-Locoformer, the paper config (sep_tflocoformer_paper.yaml: 6 layers,
#                           D 128, 4 heads, FFN 384, STFT 256/128), from scratch, batch BATCH_LOCO (24)
#   blstm_fp32, blstm_bf16  the real-voices separator (blstm_mask 256x3), fine-tuned from the
#                           release, batch BATCH_BLSTM (32)
# Writes $OUT/<run>/{curve.json,log.txt} and $OUT/summary.md (steps/s, peak GiB, dev SI-SDRi
# against minutes): the files a device call brings back.
# Needs gpu_payload/ (python -m tse2.bin.sep_payload, ~30 MiB, carried) and, where the device's
# Python lacks soundfile, .whl/ as for bench/gpu_separator.sh.
#   DRY_RUN=2 DEVICE=cpu bench/gpu_check.sh    two steps of each run here (the tests do this)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-exp/gpu_check}
minutes=${MINUTES:-2.5}
device=${DEVICE:-cuda}
payload=${PAYLOAD:-gpu_payload}
dry=${DRY_RUN:-0}
if [ -d .whl ] && ! python3 -c "import soundfile" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+${PYTHONPATH}:}${PWD}"
[ -d "${payload}" ] || { echo "gpu_check.sh: no payload at ${payload} (python -m tse2.bin.sep_payload ...)" >&2; exit 1; }
mkdir -p "${out}"
{ command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } | tee "${out}/device.txt"
common=(--payload "${payload}" --minutes "${minutes}" --device "${device}" --chunk "${CHUNK:-4}"
        --dev_mixtures "${DEV_MIXTURES:-100}" --eval_every "${EVAL_EVERY:-0.5}")
[ "${dry}" -gt 0 ] && common+=(--dry_run "${dry}")
loco=(--arch tf_locoformer --batch "${BATCH_LOCO:-24}" --lr 1e-3 --warmup 100)
[ -n "${LOCO_LAYERS:-}" ] && loco+=(--layers "${LOCO_LAYERS}")
blstm=(--arch blstm_mask --hidden 256 --layers 3 --batch "${BATCH_BLSTM:-32}" --lr 5e-4 --warmup 50
       --init egs/mini_espeak/tse2/released/sep_blstm_256x3_dm/model.pth)
rc=0
for run in loco_fp32 loco_bf16 blstm_fp32 blstm_bf16; do
    case ${run} in loco_*) args=("${loco[@]}");; *) args=("${blstm[@]}");; esac
    bf16=false; [ "${run##*_}" = bf16 ] && bf16=true
    mkdir -p "${out}/${run}"
    echo "gpu_check.sh: ${run} (${minutes} min)"
    python3 -m tse2.bin.sep_train_fast "${common[@]}" "${args[@]}" --bf16 "${bf16}" --out "${out}/${run}" "$@" \
        > "${out}/${run}/stdout.txt" 2>&1 || { rc=1; tail -n 5 "${out}/${run}/stdout.txt"; }
    rm -f "${out}/${run}"/*.pth  # the figures are the point; checkpoints would not come back anyway
done
python3 bench/gpu_check_report.py "${out}" | tee "${out}/summary.md"
exit "${rc}"
