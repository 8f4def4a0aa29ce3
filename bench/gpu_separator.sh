#!/usr/bin/env bash
# Real-voices separators on a lent GPU, two at once (tse2.bin.sep_train_fast):
#   ft256:  the released blstm_mask 256x3, fine-tuned on the pooled voices corpus
#   new320: a blstm_mask 320x3 from scratch on the same corpus
# Needs: gpu_payload/ (python -m tse2.bin.sep_payload, ~30 MiB) and .whl/ (soundfile, cffi,
# pycparser for the machine's Python), both carried.  Writes $OUT/<run>/{best.pth,curve.json,log.txt}
# and $OUT/<run>.stdout.txt (8 files: what a device call brings back).
# MINUTES (default 7.5) is each run's training budget; DEVICE=cpu MINUTES=0.1 is a dry run here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-exp/gpu_separator}
minutes=${MINUTES:-7.5}
device=${DEVICE:-cuda}
if [ -d .whl ] && ! python3 -c "import soundfile" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+${PYTHONPATH}:}${PWD}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, numpy, soundfile; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__, 'soundfile', soundfile.__version__)"
common=(--payload gpu_payload --minutes "${minutes}" --device "${device}" --batch "${BATCH:-32}" --chunk 4 --dev_mixtures 200)
mkdir -p "${out}/ft256" "${out}/new320"
python3 -m tse2.bin.sep_train_fast "${common[@]}" --out "${out}/ft256" --hidden 256 --layers 3 --lr 5e-4 --warmup 50 \
    --init egs/mini_espeak/tse2/released/sep_blstm_256x3_dm/model.pth "$@" > "${out}/ft256.stdout.txt" 2>&1 &
a=$!
python3 -m tse2.bin.sep_train_fast "${common[@]}" --out "${out}/new320" --hidden 320 --layers 3 --lr 1e-3 --warmup 200 \
    --seed 1 "$@" > "${out}/new320.stdout.txt" 2>&1 &
b=$!
rc=0
wait "$a" || rc=1
wait "$b" || rc=1
tail -n 4 "${out}"/*.stdout.txt
exit "${rc}"
