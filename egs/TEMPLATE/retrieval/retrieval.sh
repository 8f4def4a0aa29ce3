#!/usr/bin/env bash
# retrieval.sh: the one stage script of every expressive speech retrieval recipe (search speech by a
# description of how it is spoken; ../../../shared/seeds/expressive-speech-retrieval).  A recipe's
# run.sh calls it with its corpus settings.  Logic lives in python -m tse2.bin.retrieval_*; this
# script orders the work.  Inputs and outputs of each stage: egs/TEMPLATE/retrieval/README.md.
#
#   ./run.sh [--stage N] [--stop_stage M] [--nj 2] [--ngpu 1] [--cmd "queue.pl --mem 4G"]
#
# Stages:
#   1  data: local/data.sh writes Kaldi data dirs with utt2style, validated
#   2  style labels and prompts: dump/ret/<set>/{wav.scp,style,utt2style,utt2num_samples},
#      dump/ret/style_list, dump/ret/style_vocab.json (the prompts of every style, train and held-out)
#   3  training: exp/ret_<tag>/ (ESPnet trainer; --ablations also trains exp/ret_<tag>_<ablation>/)
#   4  embedding the collection: exp/ret_<tag>/index_<set>/ (nj jobs, restartable)
#   5  scoring: exp/ret_<tag>/score_<set>/, exp/separability/, exp/results_ret_<tag>/RESULTS.md
set -euo pipefail
# one run per recipe dir; stopping run.sh or this script stops all of its jobs (utils/lib/stage_guard.sh)
. utils/lib/stage_guard.sh
guard_stages
stage_args=$(printf "%q " "$0" "$@")

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
die() {
    log "Error: $*" >&2
    exit 1
}

stage=1               # first stage to run
stop_stage=10000      # last stage to run
nj=2                  # parallel jobs of CPU stages
ngpu=0                # GPUs of the training job
cmd=                  # job runner of CPU stages (default: train_cmd of cmd.sh)
gpu_cmd=              # job runner of training (default: cuda_cmd of cmd.sh)
cpu_threads=0         # threads of a CPU training job (0: every core)
fs=16000
train_set=train
valid_set=dev
test_sets=test
local_data_opts=      # options of local/data.sh
style_file=utt2style  # utt -> style name, in each data dir
style_vocab=          # a JSON of prompt templates and phrases (default: tse2.cues.styles)
dumpdir=dump
expdir=exp
ret_config=conf/retrieval.yaml
ret_tag=              # default: the config's file name
ret_args=             # more options of tse2.bin.retrieval_train (e.g. "--max_epoch 5")
ablations=            # also train and score these: no_aux no_disc no_aug (the paper's Table III)
n_trials=1000         # trials per style (paper: 1000)
n_distractors=400     # distractors per trial (paper: 400)
separability=true     # stage 5 also fits the acoustic-feature classifier (the corpus check)
example_queries=      # '|'-separated user phrasings shown in RESULTS.md with their top 5

# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh
guard_recipe_dir "${stage_args}"
[ $# -eq 0 ] || die "unknown arguments: $*"
cmd=${cmd:-${train_cmd}}
gpu_cmd=${gpu_cmd:-${cuda_cmd}}
[ -n "${ret_tag}" ] || ret_tag=$(basename "${ret_config}" .yaml)
all_sets="${train_set} ${valid_set} ${test_sets}"
ret_dump=${dumpdir}/ret
ret_exp=${expdir}/ret_${ret_tag}
for a in ${ablations}; do case "${a}" in no_aux|no_disc|no_aug) ;; *) die "unknown ablation '${a}' (no_aux, no_disc or no_aug)" ;; esac; done

# the options of each ablation (the paper's Table III)
ablation_args() {
    case "$1" in
        no_aux) echo "--model_conf aux_weight=0.0 --model_conf cls_only_epochs=0" ;;
        no_disc) echo "--model_conf disc_weight=0.0" ;;
        no_aug) echo "--prompt_augmentation false" ;;
        *) die "unknown ablation '$1' (no_aux, no_disc or no_aug)" ;;
    esac
}
models() {  # the experiment dirs of this run
    echo "${ret_exp}"
    local a
    for a in ${ablations}; do echo "${ret_exp}_${a}"; done
}

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation for ${all_sets}"
    # shellcheck disable=SC2086
    local/data.sh --nj "${nj}" --cmd "${cmd}" --fs "${fs}" ${local_data_opts}
    dirs=()
    for dset in ${all_sets}; do
        [ -f "data/${dset}/${style_file}" ] || die "local/data.sh did not write data/${dset}/${style_file}"
        dirs+=("data/${dset}")
    done
    python -m tse2.bin.validate_data_dir --fs "${fs}" "${dirs[@]}" || die "invalid data dirs (see the messages above)"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: style labels and prompts in ${ret_dump}"
    for dset in ${all_sets}; do
        first=false
        [ "${dset}" = "${train_set}" ] && first=true
        python -m tse2.bin.retrieval_data prepare --data_dir "data/${dset}" --out "${ret_dump}/${dset}" \
            --style_file "${style_file}" --style_list "${ret_dump}/style_list" --write_style_list "${first}" \
            --fs "${fs}" || die "cannot prepare data/${dset}"
    done
    python -c 'import sys; from tse2.cues.styles import StyleVocab; from tse2.models.retrieval import read_style_list
print(StyleVocab.load(read_style_list(sys.argv[1]), sys.argv[2] or None).to_json())' \
        "${ret_dump}/style_list" "${style_vocab}" > "${ret_dump}/style_vocab.json.tmp" \
        && mv "${ret_dump}/style_vocab.json.tmp" "${ret_dump}/style_vocab.json" || die "bad style vocabulary"
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    threads=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    [ "${cpu_threads}" -gt 0 ] && threads=${cpu_threads}
    [ "${ngpu}" -gt 0 ] && threads=1
    for exp in $(models); do
        extra=""
        [ "${exp}" = "${ret_exp}" ] || extra=$(ablation_args "${exp#"${ret_exp}_"}")
        mkdir -p "${exp}"
        train=(python -m tse2.bin.retrieval_train --config "${ret_config}" --output_dir "${exp}"
               --style_list "${ret_dump}/style_list" --style_vocab "${ret_dump}/style_vocab.json"
               --train_data_path_and_name_and_type "${ret_dump}/${train_set}/wav.scp,speech,sound"
               --train_data_path_and_name_and_type "${ret_dump}/${train_set}/style,style,text_int"
               --train_shape_file "${ret_dump}/${train_set}/utt2num_samples"
               --valid_data_path_and_name_and_type "${ret_dump}/${valid_set}/wav.scp,speech,sound"
               --valid_data_path_and_name_and_type "${ret_dump}/${valid_set}/style,style,text_int"
               --valid_shape_file "${ret_dump}/${valid_set}/utt2num_samples"
               --ngpu "${ngpu}" --resume true)
        # shellcheck disable=SC2206
        train+=(${extra} ${ret_args})
        { echo "#!/usr/bin/env bash"; echo "cd $(pwd) && . ./path.sh";
          echo "OMP_NUM_THREADS=${threads} $(printf '%q ' "${train[@]}")"; } > "${exp}/run.sh"
        chmod +x "${exp}/run.sh"
        # --resume continues an interrupted run of the same command on the same data, never another's
        key=$( { printf '%s\n' "${train[@]}"; cat "${ret_config}" "${ret_dump}/style_list" "${ret_dump}/style_vocab.json" \
                 "${ret_dump}/${train_set}/"{wav.scp,style,utt2num_samples} "${ret_dump}/${valid_set}/"{wav.scp,style}; } | md5sum | cut -c1-32)
        if [ "$(cat "${exp}/.resume_key" 2>/dev/null)" != "${key}" ]; then
            rm -rf "${exp}"/*.pth "${exp}/images" "${exp}/config.yaml" "${exp}/train.log" "${exp}/.done"
            echo "${key}" > "${exp}/.resume_key"
        fi
        # a finished training of this same key is kept, with its train.log (a rerun would overwrite it)
        if [ "$(cat "${exp}/.done" 2>/dev/null)" = "${key}" ] && compgen -G "${exp}/valid.*.best.pth" > /dev/null; then
            log "Stage 3: ${exp} is already trained with these options and data (remove ${exp}/.done to retrain)"
            continue
        fi
        log "Stage 3: training ${exp} (log: ${exp}/train.log; replay: ${exp}/run.sh)"
        ${gpu_cmd} --num-threads "${threads}" "${exp}/train.log" "${train[@]}" \
            || die "training failed (see ${exp}/train.log)"
        echo "${key}" > "${exp}/.done.tmp" && mv "${exp}/.done.tmp" "${exp}/.done"
    done
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    for exp in $(models); do
        for dset in ${test_sets}; do
            log "Stage 4: embedding ${dset} with ${exp} (${nj} jobs, logs: ${exp}/index_${dset}/log/)"
            ${cmd} JOB=1:"${nj}" "${exp}/index_${dset}/log/embed.JOB.log" \
                python -m tse2.bin.retrieval_index embed --model_dir "${exp}" \
                    --wav_scp "${ret_dump}/${dset}/wav.scp" --out "${exp}/index_${dset}" --job JOB --njobs "${nj}" \
                || die "embedding failed (see ${exp}/index_${dset}/log/)"
            python -m tse2.bin.retrieval_index merge --out "${exp}/index_${dset}" --njobs "${nj}"
        done
    done
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    results=${expdir}/results_ret_${ret_tag}
    queries=()
    IFS='|' read -r -a qs <<< "${example_queries}"
    for q in "${qs[@]}"; do [ -z "${q}" ] || queries+=(--example_queries "${q}"); done
    report=()
    for exp in $(models); do
        for dset in ${test_sets}; do
            log "Stage 5: scoring ${exp} on ${dset}"
            durs=()
            [ -f "data/${dset}/utt2dur" ] && durs=(--utt2dur "data/${dset}/utt2dur")
            python -m tse2.bin.retrieval_score score --model_dir "${exp}" --index "${exp}/index_${dset}" \
                --utt2style "${ret_dump}/${dset}/utt2style" "${durs[@]}" --out "${exp}/score_${dset}" \
                --n_trials "${n_trials}" --n_distractors "${n_distractors}" "${queries[@]}" > /dev/null \
                || die "scoring failed"
            report+=(--score "${exp}/score_${dset}")
        done
    done
    sep=()
    if [ "${separability}" = true ]; then
        set -- ${test_sets}
        log "Stage 5: style separability (acoustic features, ${train_set} -> $1)"
        python -m tse2.bin.retrieval_score separability --train "${ret_dump}/${train_set}" --test "${ret_dump}/$1" \
            --out "${expdir}/separability" > /dev/null || die "separability failed"
        sep=(--separability "${expdir}/separability")
    fi
    python -m tse2.bin.retrieval_score report "${report[@]}" "${sep[@]}" --out "${results}/RESULTS.md" > /dev/null
    log "Stage 5: ${results}/RESULTS.md"
fi
log "Done"
