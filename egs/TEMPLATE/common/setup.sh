#!/usr/bin/env bash
# setup.sh <task> <new-recipe-dir>: a recipe skeleton of any task, linked to its TEMPLATE, e.g.
#   egs/TEMPLATE/common/setup.sh tse2 egs/mycorpus/tse2
#   egs/TEMPLATE/common/setup.sh remix egs/mycorpus/remix
#   egs/TEMPLATE/common/setup.sh retrieval egs/mycorpus/retrieval
# It links the task script, path.sh, cmd.sh (and db.sh), utils/ and the scheduler configs, writes a
# run.sh with the task's required options, and gives conf/ a starting config (tse2: links into
# the tuning dir; remix and retrieval: copies of the embedded recipe's, to edit).  Then write
# local/data.sh, the only corpus-specific script (egs/TEMPLATE/<task>/README.md: what it writes).
set -euo pipefail
usage="usage: $0 <tse2|remix|retrieval> <new-recipe-dir>"
[ $# -eq 2 ] || { echo "${usage}" >&2; exit 1; }
task=$1 target=$2
case "${task}" in tse2|remix|retrieval) ;; *) echo "$0: unknown task '${task}'; ${usage#usage: }" >&2; exit 1 ;; esac
[ -e "${target}" ] && { echo "$0: ${target} already exists" >&2; exit 1; }
common=$(cd "$(dirname "$0")" && pwd)
template=$(cd "${common}/../${task}" && pwd)
main_root=$(cd "${common}/../../.." && pwd)
mkdir -p "${target}/local" "${target}/conf"
target=$(cd "${target}" && pwd)
relpath() { python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$2"; }
rel=$(relpath "${template}" "${target}")
for f in "${task}.sh" path.sh cmd.sh db.sh; do
    [ -e "${template}/${f}" ] && ln -s "${rel}/${f}" "${target}/${f}"
done
ln -s "$(relpath "${main_root}/utils" "${target}")" "${target}/utils"
for f in queue.conf slurm.conf; do ln -s "$(relpath "${common}/conf/${f}" "${target}/conf")" "${target}/conf/${f}"; done
case "${task}" in
tse2)
    ln -s "$(relpath "${template}/conf/tuning" "${target}/conf")" "${target}/conf/tuning"
    ln -s tuning/sep_tflocoformer_tiny.yaml "${target}/conf/sep.yaml"
    ln -s tuning/cls_minilm_whisper.yaml "${target}/conf/cls.yaml"
    options='    --test_sets "test" \'
    ;;
remix)
    cp "${main_root}/egs/mini_espeak/remix/conf/"{remix,remix_cascade}.yaml "${target}/conf/"
    options='    --test_sets test \
    --remix_model "" \
    --cascade_model "" \'
    ;;
retrieval)
    cp "${main_root}/egs/mini_espeak/retrieval/conf/retrieval.yaml" "${target}/conf/"
    options='    --test_sets "test" \'
    ;;
esac
cat > "${target}/run.sh" <<RUN
#!/usr/bin/env bash
set -euo pipefail
./${task}.sh \\
    --fs 16000 \\
    --train_set train \\
    --valid_set dev \\
${options}
    "\$@"
RUN
chmod +x "${target}/run.sh"
echo "Created ${target}; now write ${target}/local/data.sh (see ${template}/README.md)."
