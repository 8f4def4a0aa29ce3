# shellcheck shell=bash
# path.sh: the environment of every recipe of every task (sourced by the task script, local/*.sh and job scripts).
MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
export MAIN_ROOT
# shellcheck disable=SC1091
. "${MAIN_ROOT}/tools/activate_python.sh"
export PATH="${MAIN_ROOT}/utils:${PATH}"
export LC_ALL=C
export PYTHONIOENCODING=UTF-8
export PYTHONDONTWRITEBYTECODE=1
# One thread per job: parallelism comes from nj jobs, not from BLAS threads fighting for cores.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
# No model hub is reachable: every pretrained model is a local path from a config.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
# Persist numba's compiled code (librosa.pyin) across jobs instead of recompiling in each one.
export NUMBA_CACHE_DIR="${MAIN_ROOT}/tools/cache/numba"
