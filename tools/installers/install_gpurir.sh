#!/usr/bin/env bash
# Optional: gpuRIR, the GPU image-source RIR simulator the paper used (stage 3 --rir_backend
# gpurir).  Not on PyPI and needs CUDA (nvcc) to build; tse2's CPU RIR backend is used without it.
#   tools/installers/install_gpurir.sh
# Installs gpuRIR from its git repository into tools/venv.
set -euo pipefail
tools=$(cd "$(dirname "$0")/.." && pwd)
[ -x "${tools}/venv/bin/python" ] || { echo "install_gpurir.sh: run 'make install' first" >&2; exit 1; }
command -v nvcc >/dev/null 2>&1 || {
    echo "install_gpurir.sh: error: nvcc not found; gpuRIR needs a CUDA toolkit and a GPU" >&2
    exit 1
}
"${tools}/venv/bin/python" -m pip install "gpuRIR @ git+https://github.com/DavidDiazGuerra/gpuRIR"
"${tools}/venv/bin/python" -c "import gpuRIR; print('gpuRIR', gpuRIR.__file__)"
