#!/usr/bin/env bash
# Optional: Montreal Forced Aligner for word alignments of transcribed corpora (stage 2's
# --align_method mfa).  Not part of `make install` or CI: tse2 works without it (it reads
# TextGrids you already have, or falls back to Silero VAD).
#
# MFA needs Kaldi and OpenFst binaries and a patched pynini.  PyPI's montreal-forced-aligner
# pulls kalpy-kaldi, which compiles all of them from source (about an hour on 2 cores), so the
# supported route is conda-forge, which ships them prebuilt:
#
#   tools/installers/install_mfa.sh [<prefix>]      (default prefix: tools/mfa)
#
# It installs Miniforge's conda into <prefix>/conda if no conda is on PATH, creates the
# environment <prefix>/env with montreal-forced-aligner from conda-forge, and writes
# tools/mfa.sh, which path.sh users can source to put `mfa` on PATH.  Models (acoustic model and
# dictionary per language) are downloaded by `mfa model download ...` on a machine with network,
# or copied in; pass them to stage 2 as local paths.
set -euo pipefail
tools=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-${tools}/mfa}
mkdir -p "${prefix}"
if command -v conda >/dev/null 2>&1; then
    conda_bin=$(command -v conda)
else
    installer=${prefix}/Miniforge3.sh
    if [ ! -x "${prefix}/conda/bin/conda" ]; then
        url="https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-$(uname)-$(uname -m).sh"
        echo "install_mfa.sh: downloading ${url}"
        curl -fsSL -o "${installer}" "${url}" || {
            echo "install_mfa.sh: error: cannot download Miniforge (no network?). Install conda yourself and rerun." >&2
            exit 1
        }
        bash "${installer}" -b -p "${prefix}/conda"
    fi
    conda_bin=${prefix}/conda/bin/conda
fi
"${conda_bin}" create -y -p "${prefix}/env" -c conda-forge montreal-forced-aligner
cat > "${tools}/mfa.sh" <<EOS
# Puts Montreal Forced Aligner on PATH (made by tools/installers/install_mfa.sh).
export PATH="${prefix}/env/bin:\${PATH}"
EOS
"${prefix}/env/bin/mfa" version
echo "install_mfa.sh: done; source ${tools}/mfa.sh to use mfa"
