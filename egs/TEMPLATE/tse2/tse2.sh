#!/usr/bin/env bash
# tse2.sh: the one stage script of every tse2 recipe (text-guided target speech extraction with
# inter-speaker relative cues).  A recipe's run.sh calls it with its corpus settings; every stage
# maps directories to directories, logs each job, and is restartable: each finished unit of work
# (a stage, or one set or one system of it) leaves a marker holding the options and inputs it ran
# with, and is skipped on a rerun with the same ones.  Logic lives in python -m tse2.bin.<tool>;
# this script only orders the work (egs/TEMPLATE/tse2/README.md maps each stage to its code).
#
#   ./run.sh [--stage N] [--stop_stage M] [--nj 8] [--ngpu 1] [--cmd "queue.pl --mem 4G"]
#
# Stages (SPEC "Canonical stages"; inputs and outputs in egs/TEMPLATE/tse2/README.md):
#   1  data preparation: local/data.sh writes Kaldi data dirs, then they are validated
#   2  speech attribute extraction: data/<set>/attributes.jsonl (nj jobs per set)
#   3  mixture simulation: data/<set>_mix/ (RIR bank + mixtures, nj jobs per set)
#   4  cue labels and prompts: data/<set>_mix/{cues,prompts}.jsonl, data/cue_report.md
#   5  separator training: exp/sep_<tag>/ (ESPnet trainer, TF-Locoformer, PIT + SI-SDR)
#   6  separation and SI-SDR target labels: exp/sep_<tag>/separate_<set>/
#   7  training of every system (tse2/systems.py): classifiers exp/cls_<tag>_<system>/ (text prompts or
#      enrollment; or installs their releases, --cls_release), single-stage baselines (--tse_configs) exp/tse_<tag>/
#   8  inference of every system: <exp dir>/infer_<set>/ (selections or extractions, accuracy)
#   9  scoring: exp/sep_<tag>/score_<set>/ (SI-SDR, PESQ), exp/results_<sep tag>_<cls tag>/RESULTS.md + figures
#  10  packing: exp/packed/<sep tag>_<cls tag>_<system>/ (one self-contained dir for tse2.bin.extract)
set -euo pipefail
# the guard, the stage machinery and the general options (stage, stop_stage, nj, ngpu, cmd,
# gpu_cmd, cpu_threads, force, fs): utils/lib/task.sh
. utils/lib/task.sh
nj=4              # parallel jobs of CPU stages

# Data options
train_set=        # training data dir name under data/
valid_set=        # validation data dir name under data/
test_sets=        # space-separated test data dir names under data/
local_data_opts=  # options passed to local/data.sh

# Stage 2 options
attr_opts=        # options of tse2.bin.extract_attributes extract (e.g. "--f0_method pyin --align_method vad")

# Stage 3 options (paper: 100k / 10k / 10k mixtures)
dumpdir=dump          # where mixtures and the RIR bank are written
num_train_mix=100000  # mixtures of the training set
num_valid_mix=10000   # mixtures of the validation set
num_test_mix=10000    # mixtures of each test set
bank_size=2000        # rooms (3 RIRs each) precomputed per set and sampled by the mixtures
rir_backend=ism_diffuse  # ism_diffuse (CPU) or gpurir (GPU, optional install)
mix_seed=0            # a mixture depends only on (mix_seed, its id)
mix_opts=             # more options of tse2.bin.simulate_mixtures mix (e.g. "--max_len 6")

# Stage 4 options
prompt_seed=0             # prompt templates and random cue subsets depend only on (seed, mixture)
keep_similar_train=false  # write similar/same prompts for the training set (paper: no)
keep_similar_eval=true    # ... for validation and test sets (flagged; the relative-vs-independent study uses them)
prompt_variety=0          # share of the training and validation sets' relative prompts worded by the
                          # prompt-variety engine (tse2/cues/variety.py) instead of the templates; test sets
                          # keep the templates (their "training phrasings" column)
heldout_prompts=true      # also write <test set>_heldout_mix: the test mixtures with prompts in the engine's
                          # held-out grammar (frames and words kept out of training), scored as one more test set
handwritten_prompts=true  # also write <test set>_handwritten_mix: the test mixtures with the hand-written test
                          # sentences of tse2/cues/handwritten/extraction.txt (single relative cues)
phrasing_sets=            # the test sets that get those copies (default: every one of --test_sets)

# Stage 5-6 options
expdir=exp                 # experiment directories
sep_config=conf/sep.yaml   # ESPnet enhancement config of the separator (e.g. conf/tuning/sep_tflocoformer_paper.yaml)
sep_tag=                   # experiment name (default: the config's file name, e.g. tflocoformer_tiny)
sep_args=                  # more options of tse2.bin.sep_train (e.g. "--max_epoch 5")
num_nodes=1                # nodes for distributed training (ESPnet's launcher)
sep_model_file=            # checkpoint file name in exp/sep_<tag> used by stages 6 and 10 (default: the
                           # released one, else the best one ESPnet kept)
sep_release=               # a released separator dir (config.yaml, model.pth, release.json, README.md):
                           # stage 5 installs it in exp/sep_<tag> instead of training; "" trains --sep_config

# Stage 7-8 options
cls_config=conf/cls.yaml   # ESPnet config of the classifier (e.g. conf/tuning/cls_llama_xlsr_paper.yaml)
cls_tag=                   # experiment name (default: the config's file name, e.g. minilm_whisper)
cls_systems="text enroll"  # selectors: text (classifier, relative prompts), text_ind (independent
                           # prompts), enroll (enrollment utterance), attributes (training-free:
                           # measured pitch, loudness, rate, duration, onset); a _clean suffix
                           # (text_clean, ...) uses the reverberant references: the Clean ACC oracle
cls_args=                  # more options of tse2.bin.cls_train (e.g. "--max_epoch 5")
cls_train_clean=           # systems on separated outputs that also train on the references' examples
                           # (e.g. "text"; beyond the paper, which trains on the separated outputs alone;
                           # validation stays on the separated outputs)
cls_model_file=            # checkpoint file name in each exp/cls_<tag>_<system> used by stages 8 and 10
                           # (default: the best one ESPnet kept)
cls_release=               # released classifiers, one release dir per system (<dir>/text, <dir>/enroll, ...;
                           # tse2.bin.release): stage 7 installs a system's release instead of training
                           # it, and trains the systems it has none of; "" trains every one (cls_config)

# Single-stage baselines (stages 7-9; paper IV-C): none by default
tse_configs=               # ESPnet configs of single-stage text-conditioned extractors, space-separated
                           # (e.g. "conf/tuning/tse_tflocoformer_tiny.yaml conf/tuning/tse_dpt_tiny.yaml")
tse_args=                  # more options of tse2.bin.tse_train (e.g. "--max_epoch 5")

# Stage 10 options
pack_system=               # selector packed with the separator (default: the first entry of --cls_systems
                           # without _clean); "attributes" packs the separator alone

help_message=$(sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0")

log "$0 $*"
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh
guard_recipe_dir "${run_args}"

check_general_options "$@"
[ -n "${train_set}" ] || die "--train_set is required"
[ -n "${valid_set}" ] || die "--valid_set is required"
[ -n "${test_sets}" ] || die "--test_sets is required"
infer_cmd=${cmd}  # runner of the inference stages (6, 8): on GPUs when --ngpu > 0
[ "${ngpu}" -gt 0 ] && infer_cmd="${gpu_cmd} --gpu ${ngpu}"
all_sets="${train_set} ${valid_set} ${test_sets}"
phrasings=
[ "${heldout_prompts}" = true ] && phrasings="heldout"
[ "${handwritten_prompts}" = true ] && phrasings="${phrasings} handwritten"
# the test mixtures once more per phrasing, with their prompts in it (stage 6 reuses the separation)
for d in ${phrasing_sets}; do
    [[ " ${test_sets} " == *" ${d} "* ]] || die "--phrasing_sets: ${d} is not one of --test_sets (${test_sets})"
done
heldout_sets=$(for d in ${phrasing_sets:-${test_sets}}; do for p in ${phrasings}; do printf ' %s_%s' "${d}" "${p}"; done; done)
phrasing_base() {  # <set> -> "<test set> <phrasing>" for a phrasing copy, else nothing
    local p
    for p in ${phrasings}; do [ "${1%_"${p}"}" = "$1" ] || { echo "${1%_"${p}"} ${p}"; return; }; done
}
sep_sets="${all_sets}${heldout_sets}"  # every set with mixtures (stage 6 separates them all)
eval_sets="${valid_set} ${test_sets}${heldout_sets}"

# default tags: the config's real file name (through a conf/sep.yaml link) without its sep_/cls_ prefix
config_tag() { local name; name=$(basename "$(readlink -f "$1")" .yaml); echo "${name#"$2"}"; }
if [ -n "${sep_release}" ]; then
    sep_tag=${sep_tag:-$(basename "${sep_release}")}
    sep_tag=${sep_tag#sep_}
fi
sep_tag=${sep_tag:-$(config_tag "${sep_config}" sep_)}
sep_exp=${expdir}/sep_${sep_tag}
if [ -n "${cls_release}" ]; then
    cls_tag=${cls_tag:-$(basename "${cls_release}")}
    cls_tag=${cls_tag#cls_}
fi
cls_tag=${cls_tag:-$(config_tag "${cls_config}" cls_)}
results_dir=${expdir}/results_${sep_tag}_${cls_tag}

# Systems (tse2/systems.py): the selectors of --cls_systems and one tse_<tag> per --tse_configs entry.
declare -A tse_config_of=()
tse_systems=
for c in ${tse_configs}; do
    tse_config_of[tse_$(config_tag "${c}" tse_)]=${c}
    tse_systems+=" tse_$(config_tag "${c}" tse_)"
done
all_systems="${cls_systems}${tse_systems}"
# shellcheck disable=SC2086
systems_table=$(python -m tse2.bin.systems describe --expdir "${expdir}" --sep_tag "${sep_tag}" \
    --cls_tag "${cls_tag}" --dumpdir "${dumpdir}" ${all_systems}) || die "bad --cls_systems or --tse_configs"
system_info() {  # <system> -> sets kind cue kinds source sys_dir
    read -r _ kind cue kinds source sys_dir <<< "$(awk -v s="$1" '$1 == s' <<< "${systems_table}")"
}

# ---------------------------------------------------------------------------------------- helpers
# The restart rule, job splitting and training launch are utils/lib/stages.sh's.
sep_outputs() {  # <set> ... -> checksum of the stage-6 markers of those sets
    local d files=()
    for d in "$@"; do files+=("${sep_exp}/.stage6.${d}.done"); done
    digest "${files[@]}"
}
record_run

# ----------------------------------------------------------------------------------------- stages

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation for ${all_sets}"
    # shellcheck disable=SC2046
    skip_or_run "Stage 1" data/.stage1.done "local_data_opts=${local_data_opts} fs=${fs} sets=${all_sets} corpora=$(corpus_locations | tr '\n' ' ')" \
        $(for d in ${all_sets}; do echo "data/${d}/wav.scp"; done) -- run_local_data $(for d in ${all_sets}; do echo "data/${d}"; done)
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: speech attribute extraction for ${all_sets}"
    extract_attributes() {  # <set>
        local ddir=data/$1
        run_jobs "${cmd}" "${ddir}/wav.scp" "${ddir}/split_attr" wav.scp "${ddir}/log/attributes" \
            python -m tse2.bin.extract_attributes extract --data_dir "${ddir}" --fs "${fs}" \
                --wav_scp "${ddir}/split_attr/wav.scp.JOB" --out "${ddir}/split_attr/attributes.JOB.jsonl" ${attr_opts}
        # shellcheck disable=SC2046
        python -m tse2.bin.extract_attributes merge --data_dir "${ddir}" --out "${ddir}/attributes.jsonl" \
            $(parts "${ddir}/split_attr/attributes.JOB.jsonl")
    }
    for dset in ${all_sets}; do
        skip_or_run "Stage 2: ${dset}" "data/.stage2.${dset}.done" \
            "attr_opts=${attr_opts} fs=${fs} inputs=$(digest "data/${dset}/wav.scp" "data/${dset}/text" "data/${dset}/words.ctm")" \
            "data/${dset}/attributes.jsonl" -- extract_attributes "${dset}"
    done
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log "Stage 3: mixture simulation for ${all_sets}"
    simulate() {  # <set> <number of mixtures>
        local mdir=data/$1_mix work=${dumpdir}/mix/$1 bank_dir=${dumpdir}/rir_bank/$1
        [ -f "data/$1/attributes.jsonl" ] || die "data/$1/attributes.jsonl is missing: run stage 2"
        rm -rf "${mdir}" "${work}" "${bank_dir}"  # the whole set is redone
        mkdir -p "${work}/split" "${mdir}/log"
        seq 0 $((bank_size - 1)) > "${work}/bank.list"
        log "Stage 3: $1: RIR bank of ${bank_size} rooms (${rir_backend})"
        run_jobs "${cmd}" "${work}/bank.list" "${work}/split" bank.list "${mdir}/log/bank" \
            python -m tse2.bin.simulate_mixtures bank --bank_dir "${bank_dir}" --split "$1" \
                --ids "${work}/split/bank.list.JOB" --seed "${mix_seed}" --rir_backend "${rir_backend}" --fs "${fs}"
        python -m tse2.bin.simulate_mixtures ids --prefix "$1" --num "$2" --out "${work}/mix.list"
        log "Stage 3: $1: $2 mixtures"
        run_jobs "${cmd}" "${work}/mix.list" "${work}/split" mix.list "${mdir}/log/mix" \
            python -m tse2.bin.simulate_mixtures mix --data_dir "data/$1" --bank_dir "${bank_dir}" \
                --bank_size "${bank_size}" --mix_list "${work}/split/mix.list.JOB" --wav_dir "${work}/wav" \
                --out "${work}/split/mixtures.JOB.jsonl" --seed "${mix_seed}" --fs "${fs}" ${mix_opts}
        # shellcheck disable=SC2046
        python -m tse2.bin.simulate_mixtures merge --data_dir "data/$1" --out_dir "${mdir}" \
            --mix_list "${work}/mix.list" $(parts "${work}/split/mixtures.JOB.jsonl")
        python -m tse2.bin.validate_data_dir --fs "${fs}" "${mdir}" || die "invalid mixture data dir ${mdir}"
    }
    for dset in ${all_sets}; do
        num=${num_test_mix}
        [ "${dset}" = "${train_set}" ] && num=${num_train_mix}
        [ "${dset}" = "${valid_set}" ] && num=${num_valid_mix}
        skip_or_run "Stage 3: ${dset}" "data/.stage3.${dset}.done" \
            "mix=${num} bank=${bank_size} rir=${rir_backend} seed=${mix_seed} opts=${mix_opts} fs=${fs} dump=${dumpdir} inputs=$(digest "data/${dset}/attributes.jsonl")" \
            "data/${dset}_mix/mixtures.jsonl" scp:"data/${dset}_mix/wav.scp" scp:"data/${dset}_mix/spk1.scp" \
            scp:"data/${dset}_mix/spk2.scp" -- simulate "${dset}" "${num}"
    done
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    log "Stage 4: cue labelling and prompt generation"
    make_prompts() {
        local dset mix_dirs=() extra bins=data/${train_set}_mix/independent_bins.json
        for dset in ${all_sets}; do  # the training set first: it fits the independent-cue bins
            [ -f "data/${dset}_mix/mixtures.jsonl" ] || die "data/${dset}_mix/mixtures.jsonl is missing: run stage 3"
            extra=(--keep_similar "${keep_similar_eval}")
            [ "${dset}" = "${valid_set}" ] && extra+=(--variety "${prompt_variety}")
            [ "${dset}" = "${train_set}" ] && extra=(--fit_bins --keep_similar "${keep_similar_train}" --variety "${prompt_variety}")
            python -m tse2.bin.make_prompts label --mix_dir "data/${dset}_mix" --bins "${bins}" \
                --seed "${prompt_seed}" "${extra[@]}"
            mix_dirs+=("data/${dset}_mix")
        done
        for dset in ${heldout_sets}; do  # the same mixtures, prompts in another phrasing
            read -r base phrasing <<< "$(phrasing_base "${dset}")"
            rm -rf "data/${dset}_mix" && mkdir -p "data/${dset}_mix"
            find "data/${base}_mix" -maxdepth 1 -type f ! -name 'prompts.jsonl' ! -name 'cues.jsonl' \
                ! -name '.*' -exec cp {} "data/${dset}_mix/" \;
            python -m tse2.bin.make_prompts label --mix_dir "data/${dset}_mix" --bins "${bins}" \
                --seed "${prompt_seed}" --keep_similar "${keep_similar_eval}" --templates "${phrasing}"
        done
        python -m tse2.bin.make_prompts report --out data/cue_report.md "${mix_dirs[@]}"
    }
    # shellcheck disable=SC2046
    skip_or_run "Stage 4" data/.stage4.done \
        "seed=${prompt_seed} variety=${prompt_variety} similar=${keep_similar_train}/${keep_similar_eval} heldout=${heldout_sets} prompts=$(digest "${MAIN_ROOT}"/tse2/cues/{handwritten/extraction.txt,variety.py,prompts.py}) inputs=$(digest $(for d in ${all_sets}; do echo "data/${d}_mix/mixtures.jsonl"; done))" \
        $(for d in ${all_sets}${heldout_sets}; do echo "data/${d}_mix/prompts.jsonl"; done) -- make_prompts
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ] && [ -n "${sep_release}" ]; then
    skip_or_run "Stage 5" "${sep_exp}/.stage5.done" "release=$(digest "${sep_release}/config.yaml" "${sep_release}/model.pth")" \
        "${sep_exp}/config.yaml" "${sep_exp}/released.pth" -- \
        python -m tse2.bin.release install --release_dir "${sep_release}" --exp_dir "${sep_exp}"
    log "Stage 5: using the released separator ${sep_release} (give --sep_release \"\" to train ${sep_config} from scratch)"
elif [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    log "Stage 5: separator training (${sep_config}) in ${sep_exp}"
    [ -f "${sep_config}" ] || die "separator config ${sep_config} does not exist"
    train_separator() {
        local name data_args=()
        rm -f "${sep_exp}/released.pth"
        for name in wav.scp:speech_mix spk1.scp:speech_ref1 spk2.scp:speech_ref2; do
            data_args+=(--train_data_path_and_name_and_type "data/${train_set}_mix/${name%%:*},${name##*:},sound")
            data_args+=(--valid_data_path_and_name_and_type "data/${valid_set}_mix/${name%%:*},${name##*:},sound")
        done
        # shellcheck disable=SC2086
        launch_training 5 "${sep_exp}" separator python -m tse2.bin.sep_train --config "${sep_config}" \
            --output_dir "${sep_exp}" --fs "${fs}" --dynamic_mixing_conf "mix_dir=data/${train_set}_mix" \
            --train_shape_file "data/${train_set}_mix/utt2num_samples" \
            --valid_shape_file "data/${valid_set}_mix/utt2num_samples" "${data_args[@]}" ${sep_args}
    }
    # dynamic mixing (dynamic_mixing: true in the config) also reads the clean training set and its RIR bank
    skip_or_run "Stage 5" "${sep_exp}/.stage5.done" \
        "$(training_signature "${sep_config}") args=${sep_args} fs=${fs} ngpu=${ngpu} inputs=$(digest "data/${train_set}_mix/wav.scp" "data/${valid_set}_mix/wav.scp" "data/${train_set}_mix/simulation.json" "data/${train_set}/attributes.jsonl")" \
        "${sep_exp}/config.yaml" -- train_separator
fi

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    log "Stage 6: separation of ${sep_sets} with ${sep_exp}"
    [ -f "${sep_exp}/.stage5.done" ] || [ -n "${sep_model_file}" ] || die "${sep_exp} has no trained model: run stage 5"
    model_args=()
    [ -n "${sep_model_file}" ] && model_args=(--model_file "${sep_model_file}")
    separate() {  # <set>
        local out=${sep_exp}/separate_$1 base
        read -r base _ <<< "$(phrasing_base "$1")"
        if [ -n "${base}" ] && cmp -s "data/$1_mix/wav.scp" "data/${base}_mix/wav.scp" \
            && [ -f "${sep_exp}/.stage6.${base}.done" ]; then  # the same mixtures: the same separation
            mkdir -p "${out}"
            cp "${sep_exp}/separate_${base}"/{sep1.scp,sep2.scp,utt2label,sisdr.jsonl,summary.json} "${out}/"
            return
        fi
        run_jobs "${infer_cmd}" "data/$1_mix/wav.scp" "${out}/split" wav.scp "${out}/log/separate" \
            python -m tse2.bin.separate run --model_dir "${sep_exp}" "${model_args[@]}" \
                --mix_dir "data/$1_mix" --wav_scp "${out}/split/wav.scp.JOB" --wav_dir "${out}/wav" \
                --out "${out}/split/sep.JOB.jsonl" --fs "${fs}" --ngpu "${ngpu}"
        # shellcheck disable=SC2046
        python -m tse2.bin.separate merge --mix_dir "data/$1_mix" --out_dir "${out}" $(parts "${out}/split/sep.JOB.jsonl")
    }
    for dset in ${sep_sets}; do
        read -r base _ <<< "$(phrasing_base "${dset}")"
        skip_or_run "Stage 6: ${dset}" "${sep_exp}/.stage6.${dset}.done" \
            "model=${sep_model_file:-default} trained=$(digest "${sep_exp}/.stage5.done") inputs=$(digest "data/${dset}_mix/wav.scp")${base:+ base=$(digest "${sep_exp}/.stage6.${base}.done")}" \
            "${sep_exp}/separate_${dset}/utt2label" scp:"${sep_exp}/separate_${dset}/sep1.scp" \
            scp:"${sep_exp}/separate_${dset}/sep2.scp" -- separate "${dset}"
    done
    # shellcheck disable=SC2046
    python -m tse2.bin.separate report --out "${sep_exp}/RESULTS_separation.md" \
        $(for d in ${all_sets}; do echo "${sep_exp}/separate_${d}"; done)
fi

# The examples of a system for one set (tse2.bin.systems data); prints their dir, then the ESPnet
# data options for a training or validation set.
system_data() {  # <system> <set> <train|valid|eval> [more options of tse2.bin.systems data]
    python -m tse2.bin.systems data --system "$1" --set "$2" --purpose "$3" --sep_exp "${sep_exp}" --dumpdir "${dumpdir}" "${@:4}"
}

if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    train_system() {  # <system> <config> <extra options>
        local data_args train=(python -m tse2.bin.cls_train --config "$2" --output_dir "${sys_dir}" --cue "${cue}" --fs "${fs}")
        [ "${kind}" = single_stage ] && train=(python -m tse2.bin.tse_train --config "$2" --output_dir "${sys_dir}" --fs "${fs}"
                                               --dynamic_mixing_conf "mix_dir=data/${train_set}_mix")
        mkdir -p "${sys_dir}"
        rm -f "${sys_dir}/released.pth" "${sys_dir}/release.json"  # an installed release gives way
        { system_data "$1" "${train_set}" train --with_clean "${with_clean}" | tail -n +2 \
            && system_data "$1" "${valid_set}" valid | tail -n +2; } > "${sys_dir}/data_args" \
            || die "cannot write the examples of $1"
        mapfile -t data_args < "${sys_dir}/data_args"
        # shellcheck disable=SC2086
        launch_training 7 "${sys_dir}" "$1 system" "${train[@]}" "${data_args[@]}" $3
    }
    [ -z "${cls_release}" ] || [ -d "${cls_release}" ] || die "--cls_release ${cls_release}: no such directory (\"\" trains every system)"
    for system in ${all_systems}; do
        system_info "${system}"
        if [ "${kind}" = attributes ]; then log "Stage 7: ${system}: training-free; nothing to train"; continue; fi
        config=${cls_config} args=${cls_args}
        [ "${kind}" = single_stage ] && config=${tse_config_of[${system}]} args=${tse_args}
        release=  # the classifiers' releases (single-stage baselines have none)
        [ "${kind}" = single_stage ] || release=${cls_release:+${cls_release}/${system}}
        if [ -n "${release}" ] && [ -f "${release}/release.json" ]; then
            skip_or_run "Stage 7: ${system}" "${sys_dir}/.stage7.done" \
                "release=$(digest "${release}/config.yaml" "${release}/model.pth")" \
                "${sys_dir}/config.yaml" "${sys_dir}/released.pth" -- \
                python -m tse2.bin.release install --kind classifier --release_dir "${release}" --exp_dir "${sys_dir}"
            log "Stage 7: ${system}: using the released classifier ${release} (give --cls_release \"\" to train ${config})"
            continue
        fi
        [ -z "${release}" ] || log "Stage 7: ${system}: ${cls_release} has no release of it: training it"
        [ -f "${config}" ] || die "config ${config} of ${system} does not exist"
        sep_done=$(sep_outputs "${train_set}" "${valid_set}")
        if [ "${source}" = clean ]; then
            sep_done=none  # the oracle and the baselines do not depend on the separator
        else
            for d in ${train_set} ${valid_set}; do
                [ -f "${sep_exp}/separate_${d}/utt2label" ] || die "${sep_exp}/separate_${d} is missing: run stage 6"
            done
        fi
        with_clean=false  # --cls_train_clean lists it (train_system reads it too)
        [[ " ${cls_train_clean} " == *" ${system} "* ]] && with_clean=true
        log "Stage 7: ${system} (${config}) in ${sys_dir}"
        skip_or_run "Stage 7: ${system}" "${sys_dir}/.stage7.done" \
            "$(training_signature "${config}") args=${args} fs=${fs} ngpu=${ngpu} separated=${sep_done}$([ "${with_clean}" = false ] || echo " with_clean=true") inputs=$(digest "data/${train_set}_mix/prompts.jsonl" "data/${valid_set}_mix/prompts.jsonl" "data/${train_set}_mix/simulation.json" "data/${train_set}/attributes.jsonl")" \
            "${sys_dir}/config.yaml" -- train_system "${system}" "${config}" "${args}"
    done
fi

if [ "${stage}" -le 8 ] && [ "${stop_stage}" -ge 8 ]; then
    run_system() {  # <system>: selections (or extractions) of every evaluation set
        local dset ddir out runner=${infer_cmd} merge=tse2.bin.cls_inference
        local tool=(tse2.bin.cls_inference run --model_dir "${sys_dir}" --ngpu "${ngpu}")
        [ -n "${cls_model_file}" ] && tool+=(--model_file "${cls_model_file}")
        if [ "${kind}" = attributes ]; then
            tool=(tse2.bin.select_attributes) runner=${cmd}
        elif [ "${kind}" = single_stage ]; then
            tool=(tse2.bin.tse_inference run --model_dir "${sys_dir}" --ngpu "${ngpu}") merge=tse2.bin.tse_inference
        fi
        for dset in ${eval_sets}; do
            ddir=$(system_data "$1" "${dset}" eval)
            out=${sys_dir}/infer_${dset}
            log "Stage 8: $1: ${dset}"
            run_jobs "${runner}" "${ddir}/label" "${out}/split" keys "${out}/log/infer" \
                python -m "${tool[@]}" --data_dir "${ddir}" --key_file "${out}/split/keys.JOB" --out "${out}/split/sel.JOB.jsonl"
            # shellcheck disable=SC2046
            python -m "${merge}" merge --data_dir "${ddir}" --out_dir "${out}" $(parts "${out}/split/sel.JOB.jsonl")
        done
        # shellcheck disable=SC2046
        [ "${kind}" = single_stage ] || python -m tse2.bin.cls_inference report \
            --out "${sys_dir}/RESULTS_classifier.md" $(for d in ${eval_sets}; do echo "${sys_dir}/infer_${d}"; done)
    }
    for system in ${all_systems}; do
        system_info "${system}"
        [ "${kind}" = attributes ] || [ -f "${sys_dir}/.stage7.done" ] || [ -n "${cls_model_file}" ] \
            || die "${sys_dir} has no trained model: run stage 7"
        # shellcheck disable=SC2086
        separated=$(sep_outputs ${eval_sets})
        [ "${source}" = clean ] && separated=none
        # shellcheck disable=SC2046
        skip_or_run "Stage 8: ${system}" "${sys_dir}/.stage8.done" \
            "model=${cls_model_file:-best} trained=$(digest "${sys_dir}/.stage7.done") separated=${separated} inputs=$(digest $(for d in ${eval_sets}; do echo "data/${d}_mix/prompts.jsonl"; done))" \
            $(for d in ${eval_sets}; do echo "${sys_dir}/infer_${d}/summary.json"; done) -- run_system "${system}"
    done
fi

if [ "${stage}" -le 9 ] && [ "${stop_stage}" -ge 9 ]; then
    log "Stage 9: scoring ${eval_sets} (separator ${sep_exp}, systems ${all_systems})"
    score() {  # <set>: SI-SDR and PESQ of both separated outputs per mixture (the separator's alone)
        local out=${sep_exp}/score_$1 base
        read -r base _ <<< "$(phrasing_base "$1")"
        if [ -n "${base}" ] && cmp -s "data/$1_mix/wav.scp" "data/${base}_mix/wav.scp" \
            && cmp -s "data/$1_mix/utt2target" "data/${base}_mix/utt2target" \
            && [ -f "${sep_exp}/.stage9.${base}.done" ]; then  # the same mixtures and targets: the same scores
            mkdir -p "${out}"
            cp "${sep_exp}/score_${base}"/{metrics.jsonl,summary.json} "${out}/"
            return
        fi
        run_jobs "${cmd}" "data/$1_mix/wav.scp" "${out}/split" wav.scp "${out}/log/metrics" \
            python -m tse2.bin.score metrics --mix_dir "data/$1_mix" --sep_dir "${sep_exp}/separate_$1" \
                --wav_scp "${out}/split/wav.scp.JOB" --out "${out}/split/metrics.JOB.jsonl"
        # shellcheck disable=SC2046
        python -m tse2.bin.score merge --mix_dir "data/$1_mix" --out_dir "${out}" $(parts "${out}/split/metrics.JOB.jsonl")
    }
    report_args=(--out_dir "${results_dir}" --bins "data/${train_set}_mix/independent_bins.json")
    for dset in ${eval_sets}; do
        [ -f "${sep_exp}/.stage6.${dset}.done" ] || die "${sep_exp} has no separated outputs of ${dset}: run stage 6"
        read -r base _ <<< "$(phrasing_base "${dset}")"
        skip_or_run "Stage 9: SI-SDR/PESQ of ${dset}" "${sep_exp}/.stage9.${dset}.done" \
            "separated=$(sep_outputs "${dset}")${base:+ base=$(digest "${sep_exp}/.stage9.${base}.done")}" \
            "${sep_exp}/score_${dset}/metrics.jsonl" -- score "${dset}"
        report_args+=(--set "${dset}" "data/${dset}_mix" "${sep_exp}/score_${dset}")
    done
    for system in ${all_systems}; do  # the report only reads files: it is cheap and always rewritten
        system_info "${system}"
        [ -f "${sys_dir}/.stage8.done" ] || die "${sys_dir} has no results: run stage 8 (or drop ${system})"
        report_args+=(--system "${system}" "${sys_dir}")
    done
    log "Stage 9: report in ${results_dir}/RESULTS.md"
    python -m tse2.bin.score report "${report_args[@]}" --title "Results: separator sep_${sep_tag}, classifiers cls_${cls_tag}"
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
    if [ -z "${pack_system}" ]; then
        for system in ${cls_systems}; do
            [[ ${system} == *_clean ]] || { pack_system=${system}; break; }
        done
    fi
    [ -n "${pack_system}" ] || die "no selector on separated outputs in --cls_systems to pack; give --pack_system"
    [[ ${pack_system} != *_clean ]] || die "--pack_system ${pack_system}: a _clean oracle cannot select on a mixture"
    systems_table=$(python -m tse2.bin.systems describe --expdir "${expdir}" --sep_tag "${sep_tag}" \
        --cls_tag "${cls_tag}" --dumpdir "${dumpdir}" "${pack_system}") || die "unknown --pack_system ${pack_system}"
    system_info "${pack_system}"
    packed=${expdir}/packed/${sep_tag}_${cls_tag}_${pack_system}
    [ "${kind}" = attributes ] && packed=${expdir}/packed/${sep_tag}_attributes
    log "Stage 10: packing ${sep_exp} + ${pack_system} into ${packed}"
    [ -f "${sep_exp}/.stage5.done" ] || [ -n "${sep_model_file}" ] || die "${sep_exp} has no trained model: run stage 5"
    pack_args=(--sep_dir "${sep_exp}" --fs "${fs}" --out_dir "${packed}" --check_mix_dir "data/${test_sets%% *}_mix")
    [ -n "${sep_model_file}" ] && pack_args+=(--sep_model_file "${sep_model_file}")
    if [ "${kind}" = classifier ]; then
        [ -f "${sys_dir}/.stage7.done" ] || [ -n "${cls_model_file}" ] || die "${sys_dir} has no trained model: run stage 7"
        pack_args+=(--cls_dir "${sys_dir}")
        [ -n "${cls_model_file}" ] && pack_args+=(--cls_model_file "${cls_model_file}")
    elif [ "${kind}" != attributes ]; then
        die "--pack_system ${pack_system}: only a selector (a classifier or attributes) can be packed"
    fi
    python -m tse2.bin.pack "${pack_args[@]}"
    log "Stage 10: extract with: python -m tse2.bin.extract --model_dir ${packed} --prompt \"...\" in.wav out.wav"
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
