#!/usr/bin/env bash
# tse2.sh: the one stage script of every tse2 recipe (text-guided target speech extraction with
# inter-speaker relative cues).  A recipe's run.sh calls it with its corpus settings; every stage
# maps directories to directories, logs each job, and is restartable: a finished stage leaves a
# marker holding the options it ran with and is skipped on a rerun with the same options.
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
#   7  classifier training: exp/cls_<tag>_<system>/ (ESPnet trainer; text prompts and/or enrollment);
#      single-stage baselines (--tse_configs): exp/tse_<tag>/
#   8  classifier inference: exp/cls_<tag>_<system>/infer_<set>/ (similarities, selections, accuracy)
#   9  scoring: exp/sep_<tag>/score_<set>/ (SI-SDR, PESQ), exp/results_<sep tag>_<cls tag>/RESULTS.md + figures
#  10  packing: exp/packed/<sep tag>_<cls tag>_<system>/ (one self-contained dir for tse2.bin.extract)
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
die() {
    log "Error: $*" >&2
    exit 1
}

# General options
stage=1           # first stage to run
stop_stage=10000  # last stage to run
nj=4              # parallel jobs of CPU stages
ngpu=0            # GPUs per training job (0: CPU)
cmd=              # job runner for CPU stages (default: train_cmd of cmd.sh)
gpu_cmd=          # job runner for GPU stages (default: cuda_cmd of cmd.sh)
force=false       # rerun stages even when their done-marker matches
cpu_threads=0     # threads of a training job run on CPU (0: every core)

# Data options
fs=16000          # sample rate of every data dir, in Hz
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

# Stage 5-6 options
expdir=exp                 # experiment directories
sep_config=conf/sep.yaml   # ESPnet enhancement config of the separator (e.g. conf/tuning/sep_tflocoformer_paper.yaml)
sep_tag=                   # experiment name (default: the config's file name, e.g. tflocoformer_tiny)
sep_args=                  # more options of tse2.bin.sep_train (e.g. "--max_epoch 5")
num_nodes=1                # nodes for distributed training (ESPnet's launcher)
sep_model_file=            # checkpoint used by stage 6 (default: the best one ESPnet kept)
sep_release=               # a released separator dir (config.yaml, model.pth, release.json, README.md):
                           # stage 5 installs it in exp/sep_<tag> instead of training; "" trains --sep_config

# Stage 7-8 options
cls_config=conf/cls.yaml   # ESPnet config of the classifier (e.g. conf/tuning/cls_llama_xlsr_paper.yaml)
cls_tag=                   # experiment name (default: the config's file name, e.g. minilm_w2v_tiny)
cls_systems="text enroll"  # selectors: text (classifier, relative prompts), text_ind (independent
                           # prompts), enroll (enrollment utterance), attributes (training-free:
                           # measured pitch, loudness, rate, duration, onset); a _clean suffix
                           # (text_clean, ...) uses the reverberant references: the Clean ACC oracle
cls_args=                  # more options of tse2.bin.cls_train (e.g. "--max_epoch 5")
cls_model_file=            # checkpoint file name used by stage 8 (default: the best one ESPnet kept)

# Single-stage baselines (stages 7-9; paper IV-C): none by default
tse_configs=               # ESPnet configs of single-stage text-conditioned extractors, space-separated
                           # (e.g. "conf/tuning/tse_tflocoformer_tiny.yaml conf/tuning/tse_dpt_tiny.yaml")
tse_args=                  # more options of tse2.bin.tse_train (e.g. "--max_epoch 5")

# Stage 10 options
pack_system=               # selector packed with the separator (default: the first entry of --cls_systems
                           # without _clean); "attributes" packs the separator alone

help_message=$(sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0")

log "$0 $*"
run_args=$(printf '%q ' "$0" "$@")
# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh

[ $# -eq 0 ] || die "unexpected positional arguments: $*"
[ -n "${train_set}" ] || die "--train_set is required"
[ -n "${valid_set}" ] || die "--valid_set is required"
[ -n "${test_sets}" ] || die "--test_sets is required"
[[ ${nj} =~ ^[1-9][0-9]*$ ]] || die "--nj must be a positive integer, got '${nj}'"
[[ ${ngpu} =~ ^[0-9]+$ ]] || die "--ngpu must be a non-negative integer, got '${ngpu}'"
[[ ${cpu_threads} =~ ^[0-9]+$ ]] || die "--cpu_threads must be a non-negative integer, got '${cpu_threads}'"
cmd=${cmd:-${train_cmd}}
# default tags: the config's real file name (through a conf/sep.yaml link) without its sep_/cls_ prefix
config_tag() { local name; name=$(basename "$(readlink -f "$1")" .yaml); echo "${name#"$2"}"; }
if [ -n "${sep_release}" ]; then
    sep_tag=${sep_tag:-$(basename "${sep_release}")}
    sep_tag=${sep_tag#sep_}
fi
sep_tag=${sep_tag:-$(config_tag "${sep_config}" sep_)}
sep_exp=${expdir}/sep_${sep_tag}
cls_tag=${cls_tag:-$(config_tag "${cls_config}" cls_)}
results_dir=${expdir}/results_${sep_tag}_${cls_tag}
gpu_cmd=${gpu_cmd:-${cuda_cmd}}
infer_cmd=${cmd}  # runner of the inference stages (6, 8): on GPUs when --ngpu > 0
[ "${ngpu}" -gt 0 ] && infer_cmd="${gpu_cmd} --gpu ${ngpu}"
all_sets="${train_set} ${valid_set} ${test_sets}"

# A stage is done when its marker holds exactly the options it would run with now and its
# outputs are still there (an earlier stage rerun with --force removes the later stages' files).
stage_done() {  # <marker> <signature> [<output file that must exist> ...]
    [ "${force}" = false ] && [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] || return 1
    local f
    for f in "${@:3}"; do
        [ -s "${f}" ] || { log "${f} is missing: rerunning the stage"; return 1; }
    done
}
set_files() {  # <pattern with SET> -> one path per set
    local d
    for d in ${all_sets}; do printf '%s\n' "${1//SET/${d}}"; done
}
mark_done() {  # <marker> <signature>
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" > "$1.tmp" && mv "$1.tmp" "$1"
}
digest() {  # <file> ... -> md5 of their concatenation; missing files count as empty
    local f
    for f in "$@"; do [ ! -f "${f}" ] || cat "${f}"; done | md5sum | cut -c1-32
}
train_threads() {  # threads of a training job: one per GPU process, else --cpu_threads or every core
    # (nproc alone would answer 1: it honours the OMP_NUM_THREADS=1 that path.sh sets)
    if [ "${ngpu}" -gt 0 ]; then echo 1; elif [ "${cpu_threads}" -gt 0 ]; then echo "${cpu_threads}";
    else env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc; fi
}
# Runs an ESPnet training command through ESPnet's launcher (--ngpu GPUs, --num_nodes nodes, DDP;
# fp16 on GPU as in the paper; --resume: an interrupted run continues) and saves it as
# <exp>/run.sh, a replay script runnable on its own.
launch_training() {  # <stage> <exp dir> <what> python -m <module> <options ...>
    local stage_no=$1 exp=$2 what=$3 use_amp=false threads
    shift 3
    [ "${ngpu}" -gt 0 ] && use_amp=true
    threads=$(train_threads)
    # the fixed options go first, so that options given by the user (last) win
    local cmd_line=("${@:1:3}" --ngpu "${ngpu}" --use_amp "${use_amp}" --resume true "${@:4}")
    { echo "#!/usr/bin/env bash"; echo "# Stage ${stage_no} of $(pwd)/tse2.sh; run from $(pwd)"; echo "cd $(pwd) && . ./path.sh";
      echo "OMP_NUM_THREADS=${threads} $(printf '%q ' "${cmd_line[@]}")"; } > "${exp}/run.sh"
    chmod +x "${exp}/run.sh"
    log "Stage ${stage_no}: training the ${what} (log: ${exp}/train.log; replay: ${exp}/run.sh)"
    # the job runner gives the job its threads (path.sh, which every job sources, pins one)
    python -m espnet2.bin.launch \
        --cmd "${gpu_cmd} --num-threads ${threads}" --log "${exp}/train.log" --ngpu "${ngpu}" --num_nodes "${num_nodes}" \
        --init_file_prefix "${exp}/.dist_init_" --multiprocessing_distributed true -- \
        "${cmd_line[@]}" || die "${what} training failed (see ${exp}/train.log)"
}

mkdir -p exp
printf '%s\n' "${run_args}" >> exp/run_history.txt

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation for ${all_sets}"
    marker=data/.stage1.done
    signature="local_data_opts=${local_data_opts} fs=${fs} sets=${all_sets}"
    # shellcheck disable=SC2046
    if stage_done "${marker}" "${signature}" $(set_files data/SET/wav.scp); then
        log "Stage 1: already done with the same options (${marker}); skipping"
    else
        rm -f "${marker}"
        # shellcheck disable=SC2086
        local/data.sh --nj "${nj}" --cmd "${cmd}" --fs "${fs}" ${local_data_opts}
        for dset in ${all_sets}; do
            [ -d "data/${dset}" ] || die "local/data.sh did not create data/${dset}"
        done
        dirs=()
        for dset in ${all_sets}; do dirs+=("data/${dset}"); done
        python -m tse2.bin.validate_data_dir --fs "${fs}" "${dirs[@]}" \
            || die "invalid data dirs (see the messages above)"
        mark_done "${marker}" "${signature}"
    fi
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: speech attribute extraction for ${all_sets}"
    marker=data/.stage2.done
    # The marker also holds a checksum of the inputs, so a new stage 1 invalidates it.
    # shellcheck disable=SC2046
    signature="attr_opts=${attr_opts} fs=${fs} inputs=$(digest $(for d in ${all_sets}; do echo "data/${d}/wav.scp" "data/${d}/text" "data/${d}/words.ctm"; done))"
    # shellcheck disable=SC2046
    if stage_done "${marker}" "${signature}" $(set_files data/SET/attributes.jsonl); then
        log "Stage 2: already done with the same options and inputs (${marker}); skipping"
    else
        rm -f "${marker}"
        for dset in ${all_sets}; do
            ddir=data/${dset}
            split_dir=${ddir}/split_attr  # kept across runs: a finished part is not redone
            _nj=$(utils/split_list.sh "${ddir}/wav.scp" "${split_dir}" "${nj}" wav.scp)
            log "Stage 2: ${dset}: ${_nj} jobs (logs: ${ddir}/log/attributes.*.log)"
            # shellcheck disable=SC2086
            ${cmd} JOB=1:"${_nj}" "${ddir}/log/attributes.JOB.log" \
                python -m tse2.bin.extract_attributes extract --data_dir "${ddir}" --fs "${fs}" \
                    --wav_scp "${split_dir}/wav.scp.JOB" --out "${split_dir}/attributes.JOB.jsonl" ${attr_opts}
            parts=()
            for n in $(seq "${_nj}"); do parts+=("${split_dir}/attributes.${n}.jsonl"); done
            python -m tse2.bin.extract_attributes merge --data_dir "${ddir}" --out "${ddir}/attributes.jsonl" "${parts[@]}"
        done
        mark_done "${marker}" "${signature}"
    fi
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    log "Stage 3: mixture simulation for ${all_sets}"
    marker=data/.stage3.done
    # shellcheck disable=SC2046
    signature="mix=${num_train_mix}/${num_valid_mix}/${num_test_mix} bank=${bank_size} rir=${rir_backend} seed=${mix_seed} opts=${mix_opts} fs=${fs} dump=${dumpdir} inputs=$(digest $(set_files data/SET/attributes.jsonl))"
    # shellcheck disable=SC2046
    if stage_done "${marker}" "${signature}" $(set_files data/SET_mix/mixtures.jsonl); then
        log "Stage 3: already done with the same options and inputs (${marker}); skipping"
    else
        rm -f "${marker}"
        for dset in ${all_sets}; do
            [ -f "data/${dset}/attributes.jsonl" ] || die "data/${dset}/attributes.jsonl is missing: run stage 2"
            if [ "${dset}" = "${train_set}" ]; then num=${num_train_mix};
            elif [ "${dset}" = "${valid_set}" ]; then num=${num_valid_mix};
            else num=${num_test_mix}; fi
            mdir=data/${dset}_mix
            work=${dumpdir}/mix/${dset}
            bank_dir=${dumpdir}/rir_bank/${dset}
            rm -rf "${mdir}"  # ${work}/split is kept: finished parts are not redone after an interruption
            mkdir -p "${work}/split" "${mdir}/log"

            seq 0 $((bank_size - 1)) > "${work}/bank.list"
            _nj=$(utils/split_list.sh "${work}/bank.list" "${work}/split" "${nj}" bank.list)
            log "Stage 3: ${dset}: RIR bank of ${bank_size} rooms (${rir_backend}), ${_nj} jobs"
            ${cmd} JOB=1:"${_nj}" "${mdir}/log/bank.JOB.log" \
                python -m tse2.bin.simulate_mixtures bank --bank_dir "${bank_dir}" --split "${dset}" \
                    --ids "${work}/split/bank.list.JOB" --seed "${mix_seed}" --rir_backend "${rir_backend}" --fs "${fs}"

            python -m tse2.bin.simulate_mixtures ids --prefix "${dset}" --num "${num}" --out "${work}/mix.list"
            _nj=$(utils/split_list.sh "${work}/mix.list" "${work}/split" "${nj}" mix.list)
            log "Stage 3: ${dset}: ${num} mixtures, ${_nj} jobs (logs: ${mdir}/log/mix.*.log)"
            # shellcheck disable=SC2086
            ${cmd} JOB=1:"${_nj}" "${mdir}/log/mix.JOB.log" \
                python -m tse2.bin.simulate_mixtures mix --data_dir "data/${dset}" --bank_dir "${bank_dir}" \
                    --bank_size "${bank_size}" --mix_list "${work}/split/mix.list.JOB" --wav_dir "${work}/wav" \
                    --out "${work}/split/mixtures.JOB.jsonl" --seed "${mix_seed}" --fs "${fs}" ${mix_opts}
            parts=()
            for n in $(seq "${_nj}"); do parts+=("${work}/split/mixtures.${n}.jsonl"); done
            python -m tse2.bin.simulate_mixtures merge --data_dir "data/${dset}" --out_dir "${mdir}" \
                --mix_list "${work}/mix.list" "${parts[@]}"
            python -m tse2.bin.validate_data_dir --fs "${fs}" "${mdir}" || die "invalid mixture data dir ${mdir}"
        done
        mark_done "${marker}" "${signature}"
    fi
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    log "Stage 4: cue labelling and prompt generation"
    marker=data/.stage4.done
    # shellcheck disable=SC2046
    signature="seed=${prompt_seed} similar=${keep_similar_train}/${keep_similar_eval} inputs=$(digest $(set_files data/SET_mix/mixtures.jsonl))"
    # shellcheck disable=SC2046
    if stage_done "${marker}" "${signature}" $(set_files data/SET_mix/prompts.jsonl); then
        log "Stage 4: already done with the same options and inputs (${marker}); skipping"
    else
        rm -f "${marker}"
        bins=data/${train_set}_mix/independent_bins.json
        mix_dirs=()
        for dset in ${all_sets}; do  # the training set first: it fits the independent-cue bins
            [ -f "data/${dset}_mix/mixtures.jsonl" ] || die "data/${dset}_mix/mixtures.jsonl is missing: run stage 3"
            if [ "${dset}" = "${train_set}" ]; then
                extra=(--fit_bins --keep_similar "${keep_similar_train}")
            else
                extra=(--keep_similar "${keep_similar_eval}")
            fi
            python -m tse2.bin.make_prompts label --mix_dir "data/${dset}_mix" --bins "${bins}" \
                --seed "${prompt_seed}" "${extra[@]}"
            mix_dirs+=("data/${dset}_mix")
        done
        python -m tse2.bin.make_prompts report --out data/cue_report.md "${mix_dirs[@]}"
        mark_done "${marker}" "${signature}"
    fi
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ] && [ -n "${sep_release}" ]; then
    marker=${sep_exp}/.stage5.done
    signature="release=$(digest "${sep_release}/config.yaml" "${sep_release}/model.pth")"
    if stage_done "${marker}" "${signature}" "${sep_exp}/config.yaml" "${sep_exp}/released.pth"; then
        log "Stage 5: the released separator ${sep_release} is already in ${sep_exp}; skipping"
    else
        rm -f "${marker}"
        python -m tse2.bin.release install --release_dir "${sep_release}" --exp_dir "${sep_exp}" \
            || die "cannot use the released separator ${sep_release}"
        mark_done "${marker}" "${signature}"
    fi
    log "Stage 5: using the released separator ${sep_release} (give --sep_release \"\" to train ${sep_config} from scratch)"
elif [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    log "Stage 5: separator training (${sep_config}) in ${sep_exp}"
    [ -f "${sep_config}" ] || die "separator config ${sep_config} does not exist"
    marker=${sep_exp}/.stage5.done
    # dynamic mixing (dynamic_mixing: true in the config) also reads the clean training set and its RIR bank
    signature="config=$(digest "${sep_config}") args=${sep_args} ngpu=${ngpu} inputs=$(digest "data/${train_set}_mix/wav.scp" "data/${valid_set}_mix/wav.scp" "data/${train_set}_mix/simulation.json" "data/${train_set}/attributes.jsonl")"
    if stage_done "${marker}" "${signature}" "${sep_exp}/config.yaml"; then
        log "Stage 5: already done with the same config and data (${marker}); skipping"
    else
        rm -f "${marker}" "${sep_exp}/released.pth"
        mkdir -p "${sep_exp}"
        data_args=()
        for name in wav.scp:speech_mix spk1.scp:speech_ref1 spk2.scp:speech_ref2; do
            data_args+=(--train_data_path_and_name_and_type "data/${train_set}_mix/${name%%:*},${name##*:},sound")
            data_args+=(--valid_data_path_and_name_and_type "data/${valid_set}_mix/${name%%:*},${name##*:},sound")
        done
        # shellcheck disable=SC2086
        launch_training 5 "${sep_exp}" separator python -m tse2.bin.sep_train --config "${sep_config}" \
            --output_dir "${sep_exp}" --fold_length 80000 --dynamic_mixing_conf "mix_dir=data/${train_set}_mix" \
            --train_shape_file "data/${train_set}_mix/utt2num_samples" \
            --valid_shape_file "data/${valid_set}_mix/utt2num_samples" "${data_args[@]}" ${sep_args}
        mark_done "${marker}" "${signature}"
    fi
fi

if [ "${stage}" -le 6 ] && [ "${stop_stage}" -ge 6 ]; then
    log "Stage 6: separation of ${all_sets} with ${sep_exp}"
    marker=${sep_exp}/.stage6.done
    [ -f "${sep_exp}/.stage5.done" ] || [ -n "${sep_model_file}" ] || die "${sep_exp} has no trained model: run stage 5"
    signature="model=${sep_model_file:-best} trained=$(digest "${sep_exp}/.stage5.done")"
    # shellcheck disable=SC2046
    if stage_done "${marker}" "${signature}" $(set_files "${sep_exp}/separate_SET/utt2label"); then
        log "Stage 6: already done with the same model (${marker}); skipping"
    else
        rm -f "${marker}"
        model_args=()
        [ -n "${sep_model_file}" ] && model_args=(--model_file "${sep_model_file}")
        for dset in ${all_sets}; do
            out=${sep_exp}/separate_${dset}
            mkdir -p "${out}/log"
            _nj=$(utils/split_list.sh "data/${dset}_mix/wav.scp" "${out}/split" "${nj}" wav.scp)
            log "Stage 6: ${dset}: ${_nj} jobs (logs: ${out}/log/separate.*.log)"
            ${infer_cmd} JOB=1:"${_nj}" "${out}/log/separate.JOB.log" \
                python -m tse2.bin.separate run --model_dir "${sep_exp}" "${model_args[@]}" \
                    --mix_dir "data/${dset}_mix" --wav_scp "${out}/split/wav.scp.JOB" --wav_dir "${out}/wav" \
                    --out "${out}/split/sep.JOB.jsonl" --fs "${fs}" --ngpu "${ngpu}"
            parts=()
            for n in $(seq "${_nj}"); do parts+=("${out}/split/sep.${n}.jsonl"); done
            python -m tse2.bin.separate merge --mix_dir "data/${dset}_mix" --out_dir "${out}" "${parts[@]}"
        done
        outs=()
        for dset in ${all_sets}; do outs+=("${sep_exp}/separate_${dset}"); done
        python -m tse2.bin.separate report --out "${sep_exp}/RESULTS_separation.md" "${outs[@]}"
        mark_done "${marker}" "${signature}"
    fi
fi

# A classifier system: <cue>[_ind][_clean] -> cue (text|enroll), prompt kinds, candidates.
cls_system_opts() {  # <system> -> sets cue, kinds, source, cls_src_args
    local sys=$1
    source=sep_${sep_tag}
    cls_src_args=(--sep_dir)
    if [[ ${sys} == *_clean ]]; then
        source=clean; cls_src_args=(--clean); sys=${sys%_clean}
    fi
    case ${sys} in
        text) cue=text; kinds=relative ;;
        text_ind) cue=text; kinds=independent ;;
        enroll) cue=enroll; kinds=relative ;;
        attributes) cue=text; kinds=relative ;;
        *) die "unknown classifier system '$1' in --cls_systems (text, text_ind, enroll, attributes, each optionally _clean)" ;;
    esac
    sys_dir=${expdir}/cls_${cls_tag}_$1
    [[ $1 == attributes* ]] && sys_dir=${expdir}/attributes_${source}  # training-free: no classifier tag
    return 0
}
cls_data() {  # <system> <set> <out_dir> <keep_similar>
    local src=("${cls_src_args[@]}")
    [ "${src[0]}" = --sep_dir ] && src+=("${sep_exp}/separate_$2")
    python -m tse2.bin.cls_data --mix_dir "data/$2_mix" "${src[@]}" --cue "${cue}" --kinds "${kinds}" \
        --keep_similar "$4" --out_dir "$3"
}

if [ "${stage}" -le 7 ] && [ "${stop_stage}" -ge 7 ]; then
    [ -f "${cls_config}" ] || die "classifier config ${cls_config} does not exist"
    for system in ${cls_systems}; do
        cls_system_opts "${system}"
        cls_exp=${sys_dir}
        if [[ ${system} == attributes* ]]; then
            log "Stage 7: ${system}: the attribute selector is training-free; nothing to train"
            continue
        fi
        log "Stage 7: ${system} classifier (${cls_config}) in ${cls_exp}"
        if [ "${source}" != clean ]; then
            for dset in ${train_set} ${valid_set}; do
                [ -f "${sep_exp}/separate_${dset}/utt2label" ] || die "${sep_exp}/separate_${dset} is missing: run stage 6"
            done
        fi
        marker=${cls_exp}/.stage7.done
        sep_done=${sep_exp}/.stage6.done
        [ "${source}" = clean ] && sep_done=  # the oracle does not depend on the separator
        signature="config=$(digest "${cls_config}") args=${cls_args} ngpu=${ngpu} inputs=$(digest "data/${train_set}_mix/prompts.jsonl" "data/${valid_set}_mix/prompts.jsonl" "${sep_done}")"
        if stage_done "${marker}" "${signature}" "${cls_exp}/config.yaml"; then
            log "Stage 7: ${system}: already done with the same config and data (${marker}); skipping"
            continue
        fi
        rm -f "${marker}"
        mkdir -p "${cls_exp}"
        data_args=()
        for dset in ${train_set} ${valid_set}; do
            ddir=${dumpdir}/cls/${source}/${cue}_${kinds}/${dset}
            cls_data "${system}" "${dset}" "${ddir}" false
            mode=train; [ "${dset}" = "${valid_set}" ] && mode=valid
            names=(cand1.scp:cand1:sound cand2.scp:cand2:sound label:label:text_int)
            if [ "${cue}" = text ]; then names+=(prompt:prompt:text); else names+=(enroll.scp:enroll:sound); fi
            for n in "${names[@]}"; do
                IFS=: read -r f name type <<< "${n}"
                data_args+=("--${mode}_data_path_and_name_and_type" "${ddir}/${f},${name},${type}")
            done
            data_args+=("--${mode}_shape_file" "${ddir}/utt2num_samples")
        done
        # shellcheck disable=SC2086
        launch_training 7 "${cls_exp}" "${system} classifier" python -m tse2.bin.cls_train --config "${cls_config}" \
            --cue "${cue}" --output_dir "${cls_exp}" "${data_args[@]}" ${cls_args}
        mark_done "${marker}" "${signature}"
    done
    # Single-stage baselines: mixture + relative prompt -> target, on the references' example lists.
    # Validation uses each mixture's "all" prompt (one per mixture): a full pass over every prompt
    # would cost more than the training epoch.
    for tse_config in ${tse_configs}; do
        [ -f "${tse_config}" ] || die "single-stage config ${tse_config} does not exist"
        tse_exp=${expdir}/tse_$(config_tag "${tse_config}" tse_)
        log "Stage 7: single-stage baseline (${tse_config}) in ${tse_exp}"
        marker=${tse_exp}/.stage7.done
        signature="config=$(digest "${tse_config}") args=${tse_args} ngpu=${ngpu} inputs=$(digest "data/${train_set}_mix/prompts.jsonl" "data/${valid_set}_mix/prompts.jsonl" "data/${train_set}_mix/simulation.json" "data/${train_set}/attributes.jsonl")"
        if stage_done "${marker}" "${signature}" "${tse_exp}/config.yaml"; then
            log "Stage 7: ${tse_exp}: already done with the same config and data (${marker}); skipping"
            continue
        fi
        rm -f "${marker}"
        mkdir -p "${tse_exp}"
        data_args=()
        for dset in ${train_set} ${valid_set}; do
            ddir=${dumpdir}/cls/clean/text_relative/${dset}
            mode=train; opts=()
            if [ "${dset}" = "${valid_set}" ]; then mode=valid; ddir=${ddir}_all; opts=(--cue_types all); fi
            python -m tse2.bin.cls_data --mix_dir "data/${dset}_mix" --clean --cue text --kinds relative \
                --keep_similar false "${opts[@]}" --out_dir "${ddir}"
            for n in mix.scp:speech_mix:sound target.scp:speech_ref1:sound prompt:prompt:text; do
                IFS=: read -r f name type <<< "${n}"
                data_args+=("--${mode}_data_path_and_name_and_type" "${ddir}/${f},${name},${type}")
            done
            data_args+=("--${mode}_shape_file" "${ddir}/utt2num_samples")
        done
        # shellcheck disable=SC2086
        launch_training 7 "${tse_exp}" "single-stage baseline" python -m tse2.bin.tse_train --config "${tse_config}" \
            --output_dir "${tse_exp}" --dynamic_mixing_conf "mix_dir=data/${train_set}_mix" "${data_args[@]}" ${tse_args}
        mark_done "${marker}" "${signature}"
    done
fi

if [ "${stage}" -le 8 ] && [ "${stop_stage}" -ge 8 ]; then
    for system in ${cls_systems}; do
        cls_system_opts "${system}"
        cls_exp=${sys_dir}
        log "Stage 8: ${system} selection on ${valid_set} ${test_sets}"
        marker=${cls_exp}/.stage8.done
        if [[ ${system} == attributes* ]]; then
            sep_done=${sep_exp}/.stage6.done
            [ "${source}" = clean ] && sep_done=
            # shellcheck disable=SC2046
            signature="attributes inputs=$(digest "${sep_done}" $(for d in ${valid_set} ${test_sets}; do echo "data/${d}_mix/prompts.jsonl"; done))"
        else
            [ -f "${cls_exp}/.stage7.done" ] || [ -n "${cls_model_file}" ] || die "${cls_exp} has no trained model: run stage 7"
            signature="model=${cls_model_file:-best} trained=$(digest "${cls_exp}/.stage7.done") sets=${valid_set} ${test_sets}"
        fi
        # shellcheck disable=SC2046
        if stage_done "${marker}" "${signature}" $(for d in ${valid_set} ${test_sets}; do echo "${cls_exp}/infer_${d}/summary.json"; done); then
            log "Stage 8: ${system}: already done with the same model and inputs (${marker}); skipping"
            continue
        fi
        rm -f "${marker}"
        model_args=()
        [ -n "${cls_model_file}" ] && model_args=(--model_file "${cls_exp}/${cls_model_file}")
        outs=()
        for dset in ${valid_set} ${test_sets}; do
            # every prompt, similar/same ones included (flagged): stage 9's relative-vs-independent study
            ddir=${dumpdir}/cls/${source}/${cue}_${kinds}/${dset}_eval
            cls_data "${system}" "${dset}" "${ddir}" true
            out=${cls_exp}/infer_${dset}
            mkdir -p "${out}/log"
            _nj=$(utils/split_list.sh "${ddir}/label" "${out}/split" "${nj}" keys)
            log "Stage 8: ${system}: ${dset}: ${_nj} jobs (logs: ${out}/log/infer.*.log)"
            if [[ ${system} == attributes* ]]; then
                ${cmd} JOB=1:"${_nj}" "${out}/log/infer.JOB.log" \
                    python -m tse2.bin.select_attributes --data_dir "${ddir}" --key_file "${out}/split/keys.JOB" \
                        --out "${out}/split/sel.JOB.jsonl"
            else
                ${infer_cmd} JOB=1:"${_nj}" "${out}/log/infer.JOB.log" \
                    python -m tse2.bin.cls_inference run --model_dir "${cls_exp}" "${model_args[@]}" \
                        --data_dir "${ddir}" --key_file "${out}/split/keys.JOB" --out "${out}/split/sel.JOB.jsonl" \
                        --ngpu "${ngpu}"
            fi
            parts=()
            for n in $(seq "${_nj}"); do parts+=("${out}/split/sel.${n}.jsonl"); done
            python -m tse2.bin.cls_inference merge --data_dir "${ddir}" --out_dir "${out}" "${parts[@]}"
            outs+=("${out}")
        done
        python -m tse2.bin.cls_inference report --out "${cls_exp}/RESULTS_classifier.md" "${outs[@]}"
        mark_done "${marker}" "${signature}"
    done
    for tse_config in ${tse_configs}; do
        tse_exp=${expdir}/tse_$(config_tag "${tse_config}" tse_)
        log "Stage 8: single-stage ${tse_exp} on ${valid_set} ${test_sets}"
        [ -f "${tse_exp}/.stage7.done" ] || die "${tse_exp} has no trained model: run stage 7"
        marker=${tse_exp}/.stage8.done
        signature="trained=$(digest "${tse_exp}/.stage7.done") sets=${valid_set} ${test_sets}"
        # shellcheck disable=SC2046
        if stage_done "${marker}" "${signature}" $(for d in ${valid_set} ${test_sets}; do echo "${tse_exp}/infer_${d}/summary.json"; done); then
            log "Stage 8: ${tse_exp}: already done with the same model and inputs (${marker}); skipping"
            continue
        fi
        rm -f "${marker}"
        for dset in ${valid_set} ${test_sets}; do
            ddir=${dumpdir}/cls/clean/text_relative/${dset}  # non-similar relative prompts (Table IV)
            python -m tse2.bin.cls_data --mix_dir "data/${dset}_mix" --clean --cue text --kinds relative \
                --keep_similar false --out_dir "${ddir}"
            out=${tse_exp}/infer_${dset}
            mkdir -p "${out}/log"
            _nj=$(utils/split_list.sh "${ddir}/label" "${out}/split" "${nj}" keys)
            log "Stage 8: ${tse_exp}: ${dset}: ${_nj} jobs (logs: ${out}/log/infer.*.log)"
            ${infer_cmd} JOB=1:"${_nj}" "${out}/log/infer.JOB.log" \
                python -m tse2.bin.tse_inference run --model_dir "${tse_exp}" --data_dir "${ddir}" \
                    --key_file "${out}/split/keys.JOB" --out "${out}/split/tse.JOB.jsonl" --ngpu "${ngpu}"
            parts=()
            for n in $(seq "${_nj}"); do parts+=("${out}/split/tse.${n}.jsonl"); done
            python -m tse2.bin.tse_inference merge --data_dir "${ddir}" --out_dir "${out}" "${parts[@]}"
        done
        mark_done "${marker}" "${signature}"
    done
fi

if [ "${stage}" -le 9 ] && [ "${stop_stage}" -ge 9 ]; then
    eval_sets="${valid_set} ${test_sets}"
    log "Stage 9: scoring ${eval_sets} (separator ${sep_exp}, classifiers ${cls_systems})"
    [ -f "${sep_exp}/.stage6.done" ] || die "${sep_exp} has no separated outputs: run stage 6"
    # Signal metrics of both separated outputs per mixture: they depend on the separator only.
    marker=${sep_exp}/.stage9.done
    signature="separated=$(digest "${sep_exp}/.stage6.done")"
    # shellcheck disable=SC2046
    if stage_done "${marker}" "${signature}" $(for d in ${eval_sets}; do echo "${sep_exp}/score_${d}/metrics.jsonl"; done); then
        log "Stage 9: SI-SDR/PESQ of ${sep_exp} already computed (${marker}); skipping"
    else
        rm -f "${marker}"
        for dset in ${eval_sets}; do
            out=${sep_exp}/score_${dset}
            mkdir -p "${out}/log"
            _nj=$(utils/split_list.sh "data/${dset}_mix/wav.scp" "${out}/split" "${nj}" wav.scp)
            log "Stage 9: ${dset}: SI-SDR and PESQ in ${_nj} jobs (logs: ${out}/log/metrics.*.log)"
            ${cmd} JOB=1:"${_nj}" "${out}/log/metrics.JOB.log" \
                python -m tse2.bin.score metrics --mix_dir "data/${dset}_mix" --sep_dir "${sep_exp}/separate_${dset}" \
                    --wav_scp "${out}/split/wav.scp.JOB" --out "${out}/split/metrics.JOB.jsonl"
            parts=()
            for n in $(seq "${_nj}"); do parts+=("${out}/split/metrics.${n}.jsonl"); done
            python -m tse2.bin.score merge --mix_dir "data/${dset}_mix" --out_dir "${out}" "${parts[@]}"
        done
        mark_done "${marker}" "${signature}"
    fi
    # The report only reads files: it is cheap and always rewritten.
    report_args=(--out_dir "${results_dir}" --bins "data/${train_set}_mix/independent_bins.json")
    for dset in ${eval_sets}; do report_args+=(--set "${dset}" "data/${dset}_mix" "${sep_exp}/score_${dset}"); done
    for system in ${cls_systems}; do
        cls_system_opts "${system}"
        [ -f "${sys_dir}/.stage8.done" ] || die "${sys_dir} has no selections: run stage 8 (or drop ${system} from --cls_systems)"
        report_args+=(--system "${system}" "${sys_dir}")
    done
    for tse_config in ${tse_configs}; do
        tse_tag=$(config_tag "${tse_config}" tse_)
        [ -f "${expdir}/tse_${tse_tag}/.stage8.done" ] || die "${expdir}/tse_${tse_tag} has no results: run stage 8"
        report_args+=(--system "tse_${tse_tag}" "${expdir}/tse_${tse_tag}")
    done
    log "Stage 9: report in ${results_dir}/RESULTS.md"
    python -m tse2.bin.score report "${report_args[@]}" \
        --title "Results: separator sep_${sep_tag}, classifiers cls_${cls_tag}"
fi

if [ "${stage}" -le 10 ] && [ "${stop_stage}" -ge 10 ]; then
    if [ -z "${pack_system}" ]; then
        for system in ${cls_systems}; do
            [[ ${system} == *_clean ]] || { pack_system=${system}; break; }
        done
    fi
    [ -n "${pack_system}" ] || die "no selector on separated outputs in --cls_systems to pack; give --pack_system"
    [[ ${pack_system} != *_clean ]] || die "--pack_system ${pack_system}: a _clean oracle cannot select on a mixture"
    cls_system_opts "${pack_system}"
    packed=${expdir}/packed/${sep_tag}_${cls_tag}_${pack_system}
    [[ ${pack_system} == attributes* ]] && packed=${expdir}/packed/${sep_tag}_attributes
    log "Stage 10: packing ${sep_exp} + ${pack_system} into ${packed}"
    [ -f "${sep_exp}/.stage5.done" ] || [ -n "${sep_model_file}" ] || die "${sep_exp} has no trained model: run stage 5"
    pack_args=(--sep_dir "${sep_exp}" --fs "${fs}" --out_dir "${packed}" --check_mix_dir "data/${test_sets%% *}_mix")
    [ -n "${sep_model_file}" ] && pack_args+=(--sep_model_file "${sep_model_file}")
    if [[ ${pack_system} != attributes* ]]; then
        [ -f "${sys_dir}/.stage7.done" ] || [ -n "${cls_model_file}" ] || die "${sys_dir} has no trained model: run stage 7"
        pack_args+=(--cls_dir "${sys_dir}")
        [ -n "${cls_model_file}" ] && pack_args+=(--cls_model_file "${sys_dir}/${cls_model_file}")
    fi
    python -m tse2.bin.pack "${pack_args[@]}"
    log "Stage 10: extract with: python -m tse2.bin.extract --model_dir ${packed} --prompt \"...\" in.wav out.wav"
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
