#!/usr/bin/env bash
# retrieval.sh: the one stage script of every expressive speech retrieval recipe (search speech by a
# description of how it is spoken; ../../../shared/seeds/expressive-speech-retrieval).  A recipe's
# run.sh calls it with its corpus settings.  Logic lives in python -m tse2.bin.retrieval_*; this
# script orders the work.  Inputs and outputs of each stage: egs/TEMPLATE/retrieval/README.md.
#
#   ./run.sh [--stage N] [--stop_stage M] [--nj 2] [--ngpu 1] [--cmd "queue.pl --mem 4G"]
#
# Every stage (or each set or model of it) leaves a marker holding the options and inputs it ran
# with and is skipped on a rerun with the same ones (utils/lib/stages.sh; --force true reruns).
#
# Stages:
#   1  data: local/data.sh writes Kaldi data dirs with utt2style, validated
#   2  style labels and prompts: dump/ret/<set>/{wav.scp,style,utt2style,utt2num_samples},
#      dump/ret/style_list, dump/ret/style_vocab.json (the prompts of every style, train and held-out)
#   3  training: exp/ret_<tag>/ (ESPnet trainer; --ablations also trains exp/ret_<tag>_<ablation>/)
#   4  embedding the collection: exp/ret_<tag>/index_<set>/ (nj jobs, restartable)
#   5  scoring: exp/ret_<tag>/score_<set>/, exp/separability/, exp/results_ret_<tag>/RESULTS.md
set -euo pipefail
# the guard, the stage machinery and the general options (stage, stop_stage, nj, ngpu, cmd,
# gpu_cmd, cpu_threads, force, fs): utils/lib/task.sh
. utils/lib/task.sh

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
guard_recipe_dir "${run_args}"
check_general_options "$@"
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

record_run

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation for ${all_sets}"
    # shellcheck disable=SC2046
    skip_or_run "Stage 1" data/.stage1.done "local_data_opts=${local_data_opts} fs=${fs} sets=${all_sets} corpora=$(corpus_locations | tr '\n' ' ')" \
        $(for d in ${all_sets}; do echo "data/${d}/wav.scp data/${d}/${style_file}"; done) \
        -- run_local_data $(for d in ${all_sets}; do echo "data/${d}"; done) -- "${style_file}"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: style labels and prompts in ${ret_dump}"
    prepare_dump() {
        local dset first
        for dset in ${all_sets}; do  # the training set first: it writes the style list
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
    }
    # shellcheck disable=SC2046
    skip_or_run "Stage 2" "${ret_dump}/.stage2.done" \
        "sets=${all_sets} style_file=${style_file} vocab=$(digest "${style_vocab}") fs=${fs} inputs=$(digest $(for d in ${all_sets}; do echo "data/${d}/wav.scp data/${d}/${style_file}"; done))" \
        "${ret_dump}/style_list" "${ret_dump}/style_vocab.json" \
        $(for d in ${all_sets}; do echo "${ret_dump}/${d}/wav.scp ${ret_dump}/${d}/style"; done) -- prepare_dump
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    inputs=$(digest "${ret_dump}/style_list" "${ret_dump}/style_vocab.json" "${ret_dump}/${train_set}/"{wav.scp,style,utt2num_samples} \
                    "${ret_dump}/${valid_set}/"{wav.scp,style})
    for exp in $(models); do
        extra=""
        [ "${exp}" = "${ret_exp}" ] || extra=$(ablation_args "${exp#"${ret_exp}_"}")
        train=(python -m tse2.bin.retrieval_train --config "${ret_config}" --output_dir "${exp}" --fs "${fs}"
               --style_list "${ret_dump}/style_list" --style_vocab "${ret_dump}/style_vocab.json"
               --train_data_path_and_name_and_type "${ret_dump}/${train_set}/wav.scp,speech,sound"
               --train_data_path_and_name_and_type "${ret_dump}/${train_set}/style,style,text_int"
               --train_shape_file "${ret_dump}/${train_set}/utt2num_samples"
               --valid_data_path_and_name_and_type "${ret_dump}/${valid_set}/wav.scp,speech,sound"
               --valid_data_path_and_name_and_type "${ret_dump}/${valid_set}/style,style,text_int"
               --valid_shape_file "${ret_dump}/${valid_set}/utt2num_samples")
        # shellcheck disable=SC2206
        train+=(${extra} ${ret_args})
        skip_or_run "Stage 3: ${exp}" "${exp}/.stage3.done" \
            "$(training_signature "${ret_config}") args=${extra} ${ret_args} fs=${fs} ngpu=${ngpu} inputs=${inputs}" \
            "${exp}/config.yaml" -- launch_training 3 "${exp}" "retrieval model" "${train[@]}"
    done
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    embed() {  # <exp> <set>
        local out=$1/index_$2
        # embed keeps the finished chunks of this same model and data (a digest in each chunk)
        resume_or_clear "${out}/.stage4.key" "${out}/parts" "${out}/split"  # parts of another split are not kept
        log "Stage 4: embedding $2 with $1"
        run_jobs "${cmd}" "${ret_dump}/$2/wav.scp" "${out}/split" wav.scp "${out}/log/embed" \
            python -m tse2.bin.retrieval_index embed --model_dir "$1" \
                --wav_scp "${out}/split/wav.scp.JOB" --out "${out}" --part JOB \
            || die "embedding failed (see ${out}/log/)"
        python -m tse2.bin.retrieval_index merge --out "${out}"
    }
    for exp in $(models); do
        [ -f "${exp}/.stage3.done" ] || die "${exp} has no trained model: run stage 3"
        for dset in ${test_sets}; do
            skip_or_run "Stage 4: ${exp} ${dset}" "${exp}/.stage4.${dset}.done" \
                "trained=$(digest "${exp}/.stage3.done") nj=${nj} inputs=$(digest "${ret_dump}/${dset}/wav.scp")" \
                "${exp}/index_${dset}/index.json" -- embed "${exp}" "${dset}"
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
            durs=()
            [ -f "data/${dset}/utt2dur" ] && durs=(--utt2dur "data/${dset}/utt2dur")
            score_set() {  # <exp> <set>
                python -m tse2.bin.retrieval_score score --model_dir "$1" --index "$1/index_$2" \
                    --utt2style "${ret_dump}/$2/utt2style" "${durs[@]}" --out "$1/score_$2" \
                    --n_trials "${n_trials}" --n_distractors "${n_distractors}" "${queries[@]}" > /dev/null \
                    || die "scoring $1 on $2 failed"
            }
            skip_or_run "Stage 5: scoring ${exp} on ${dset}" "${exp}/.stage5.${dset}.done" \
                "index=$(digest "${exp}/.stage4.${dset}.done") trials=${n_trials}/${n_distractors} queries=${example_queries} labels=$(digest "${ret_dump}/${dset}/utt2style" "${durs[@]:1}")" \
                "${exp}/score_${dset}/results.json" -- score_set "${exp}" "${dset}"
            report+=(--score "${exp}/score_${dset}")
        done
    done
    sep=()
    if [ "${separability}" = true ]; then
        set -- ${test_sets}
        separability() {  # <train set> <test set>
            python -m tse2.bin.retrieval_score separability --train "${ret_dump}/$1" --test "${ret_dump}/$2" \
                --out "${expdir}/separability" > /dev/null || die "separability failed"
        }
        skip_or_run "Stage 5: style separability (acoustic features, ${train_set} -> $1)" "${expdir}/separability/.stage5.done" \
            "train=$(digest "${ret_dump}/${train_set}/wav.scp" "${ret_dump}/${train_set}/utt2style") test=$(digest "${ret_dump}/$1/wav.scp" "${ret_dump}/$1/utt2style")" \
            "${expdir}/separability/separability.json" -- separability "${train_set}" "$1"
        sep=(--separability "${expdir}/separability")
    fi
    # the report only reads the scores: it is cheap and always rewritten
    python -m tse2.bin.retrieval_score report "${report[@]}" "${sep[@]}" --out "${results}/RESULTS.md" > /dev/null
    log "Stage 5: ${results}/RESULTS.md"
fi
log "Done"
