#!/usr/bin/env bash
# setup.sh <new-recipe-dir>: creates a recipe skeleton linked to this TEMPLATE, e.g.
#   egs/TEMPLATE/tse2/setup.sh egs/mycorpus/tse2
# Then write local/data.sh (the only corpus-specific script) and run.sh's settings.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 <new-recipe-dir>" >&2; exit 1; }
target=$1
[ -e "${target}" ] && { echo "$0: ${target} already exists" >&2; exit 1; }
template=$(cd "$(dirname "$0")" && pwd)
mkdir -p "${target}/local" "${target}/conf"
target=$(cd "${target}" && pwd)
rel=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "${template}" "${target}")
root=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "${template}/../../.." "${target}")
for f in tse2.sh path.sh cmd.sh db.sh; do ln -s "${rel}/${f}" "${target}/${f}"; done
ln -s "${root}/utils" "${target}/utils"
for f in queue.conf slurm.conf tuning; do ln -s "../${rel}/conf/${f}" "${target}/conf/${f}"; done
ln -s tuning/sep_tflocoformer_tiny.yaml "${target}/conf/sep.yaml"
ln -s tuning/cls_minilm_whisper.yaml "${target}/conf/cls.yaml"
cat > "${target}/run.sh" <<'RUN'
#!/usr/bin/env bash
set -euo pipefail
./tse2.sh \
    --fs 16000 \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    "$@"
RUN
chmod +x "${target}/run.sh"
echo "Created ${target}; now write ${target}/local/data.sh (see ${template}/README.md)."
