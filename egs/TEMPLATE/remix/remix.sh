#!/usr/bin/env bash
# remix.sh: the one stage script of every text-guided remixing recipe (Listen, Chat, and Remix;
# ../../../shared/seeds/listen-chat-remix).  A recipe's run.sh calls it with its corpus settings.
# Logic lives in python -m tse2.bin.remix_*; this script orders the work.  Inputs and outputs of
# each stage: egs/TEMPLATE/remix/README.md.
#
#   ./run.sh [--stage N] [--stop_stage M] [--nj 2] [--ngpu 1] [--cmd "queue.pl --mem 4G"]
#
# Stages:
#   1  data: local/data.sh writes speech data dirs (utt2spk, spk2gender, utt2style) and sound-bank
#      data dirs (utt2category), validated
#   2  simulation: dump/remix/train/ (dynamic-mixing slots), data/remix_<set>/ (fixed mixtures,
#      targets, sources, one task and prompt each; the zero-shot sets of Table III, and
#      remix_<test>_absent: prompts naming a source the mixture lacks)
#   3  training: exp/remix_<tag>/ (ESPnet trainer; none when --remix_model is given) and the
#      cascade's separator exp/remix_cascade/ (with --cascade true, none when --cascade_model is given)
#   4  inference: exp/<model>/decode_<set>/{prompt,heldout}/ (nj jobs, restartable)
#   5  scoring: SNRi per task -> exp/<model>/decode_*/*/summary.json, exp/results_remix_<tag>/RESULTS.md
#      and spectrograms.png (before / after / target of example prompts)
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
train_set=train       # speech data dirs of local/data.sh
valid_set=dev
test_set=test
sound_prefix=sounds   # sound-bank data dirs: data/<prefix>_{train,valid,test,unseen}
speech_styles=        # only these speaking styles (comma-separated; default: all)
local_data_opts=      # options of local/data.sh
length=4.0            # seconds per mixture (paper: 5)
n_train_slots=4000    # training examples per epoch pass (each a fresh mixture)
n_valid=160           # fixed validation mixtures
n_test=480            # fixed test mixtures (30 per task)
n_zeroshot=240        # mixtures of each zero-shot set (0: none)
n_absent=120          # test prompts naming a sound category or speaker gender the mixture lacks (0: none)
dumpdir=dump
expdir=exp
remix_config=conf/remix.yaml
remix_tag=            # default: the config's file name
remix_args=           # more options of tse2.bin.remix_train (e.g. "--max_epoch 5")
remix_model=          # a trained or released model dir: stages 4-5 use it and stage 3 does not train one
cascade=true          # also the ideal cascaded baseline (separate all sources by PIT, true gains, sum)
cascade_config=conf/remix_cascade.yaml
cascade_args=         # more options of tse2.bin.remix_cascade_train
cascade_model=        # a trained or released cascade separator (stage 3 then trains none)
figure_tasks=TSE,TAE,SD  # stage 5 draws a test example of each (median SNRi): spectrograms.png

# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh
guard_recipe_dir "${stage_args}"
[ $# -eq 0 ] || die "unknown arguments: $*"
cmd=${cmd:-${train_cmd}}
gpu_cmd=${gpu_cmd:-${cuda_cmd}}
[ -n "${remix_tag}" ] || remix_tag=$(basename "${remix_config}" .yaml)
remix_dump=${dumpdir}/remix
remix_exp=${expdir}/remix_${remix_tag}
model=${remix_model:-${remix_exp}}
# decodings of a given model go under exp/ too (a released model's dir stays as released)
dec_root=${remix_exp}
[ -z "${remix_model}" ] || dec_root=${expdir}/$(basename "${remix_model}")
cascade_exp=${expdir}/remix_cascade
cascade_sep=${cascade_model:-${cascade_exp}}
cascade_dec=${cascade_exp}
[ -z "${cascade_model}" ] || cascade_dec=${expdir}/$(basename "${cascade_model}")
samples=$(python -c "print(int(round(${length} * ${fs})))")
# the fixed sets: name, speech dir, sound dir, speech sources, audio sources, seed, mixtures, options
test_sets="remix_${test_set}"
set_specs() {
    echo "remix_${valid_set} ${valid_set} ${sound_prefix}_valid 2 2 2 ${n_valid}"
    echo "remix_${test_set} ${test_set} ${sound_prefix}_test 2 2 3 ${n_test}"
    [ "${n_absent}" -gt 0 ] && echo "remix_${test_set}_absent ${test_set} ${sound_prefix}_test 2 2 8 ${n_absent} --absent"
    if [ "${n_zeroshot}" -gt 0 ]; then
        echo "remix_${test_set}_2s ${test_set} ${sound_prefix}_test 2 0 4 ${n_zeroshot}"
        echo "remix_${test_set}_2s1a ${test_set} ${sound_prefix}_test 2 1 5 ${n_zeroshot}"
        echo "remix_${test_set}_1s2a ${test_set} ${sound_prefix}_test 1 2 6 ${n_zeroshot}"
        echo "remix_${test_set}_unseen ${test_set} ${sound_prefix}_unseen 2 2 7 ${n_zeroshot}"
    fi
}
[ "${n_absent}" -gt 0 ] && test_sets+=" remix_${test_set}_absent"
[ "${n_zeroshot}" -gt 0 ] && test_sets+=" remix_${test_set}_2s remix_${test_set}_2s1a remix_${test_set}_1s2a remix_${test_set}_unseen"

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation (speech ${train_set} ${valid_set} ${test_set}; sound bank ${sound_prefix}_*)"
    # shellcheck disable=SC2086
    local/data.sh --nj "${nj}" --cmd "${cmd}" --fs "${fs}" ${local_data_opts}
    dirs=()
    for d in ${train_set} ${valid_set} ${test_set}; do
        for f in utt2spk spk2gender utt2style; do
            [ -f "data/${d}/${f}" ] || die "local/data.sh did not write data/${d}/${f}"
        done
        dirs+=("data/${d}")
    done
    for s in train valid test; do
        [ -f "data/${sound_prefix}_${s}/utt2category" ] || die "local/data.sh did not write data/${sound_prefix}_${s}/utt2category"
        dirs+=("data/${sound_prefix}_${s}")
    done
    python -m tse2.bin.validate_data_dir --fs "${fs}" "${dirs[@]}" || die "invalid data dirs (see the messages above)"
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: ${n_train_slots} training slots (dynamic mixing) in ${remix_dump}/${train_set}"
    python -m tse2.bin.remix_data slots --out "${remix_dump}/${train_set}" --num "${n_train_slots}" \
        --length "${length}" --fs "${fs}"
    while read -r name speech sound n_s n_a seed num opts; do
        [ -d "data/${sound}" ] || { log "Stage 2: no data/${sound}: ${name} skipped"; continue; }
        log "Stage 2: ${name}: ${num} mixtures of ${n_s} speech + ${n_a} audio"
        # shellcheck disable=SC2086
        python -m tse2.bin.remix_data set --speech_dir "data/${speech}" --sound_dir "data/${sound}" \
            --speech_styles "${speech_styles}" --out "data/${name}" --wav_dir "${dumpdir}/remix_wav/${name}" \
            --num "${num}" --seed "${seed}" --n_speech "${n_s}" --n_audio "${n_a}" --length "${length}" --fs "${fs}" \
            ${opts} || die "cannot simulate ${name}"
    done < <(set_specs)
fi

# train <exp> <config> <cmd...>: ESPnet training with a replay script; --resume continues an
# interrupted run of the same command on the same data, never another's; a finished one is kept
train_exp() {
    local exp=$1 config=$2
    shift 2
    local train=("$@") key
    mkdir -p "${exp}"
    { echo "#!/usr/bin/env bash"; echo "cd $(pwd) && . ./path.sh";
      echo "OMP_NUM_THREADS=${threads} $(printf '%q ' "${train[@]}")"; } > "${exp}/run.sh"
    chmod +x "${exp}/run.sh"
    key=$( { printf '%s\n' "${train[@]}"; cat "${config}" "data/${train_set}/wav.scp" \
             "data/${sound_prefix}_train/wav.scp" "data/remix_${valid_set}/gains"; } | md5sum | cut -c1-32)
    if [ "$(cat "${exp}/.resume_key" 2>/dev/null)" != "${key}" ]; then
        rm -rf "${exp}"/*.pth "${exp}/images" "${exp}/config.yaml" "${exp}/train.log" "${exp}/.done"
        echo "${key}" > "${exp}/.resume_key"
    fi
    if [ "$(cat "${exp}/.done" 2>/dev/null)" = "${key}" ] && compgen -G "${exp}/valid.*.best.pth" > /dev/null; then
        log "Stage 3: ${exp} is already trained with these options and data (remove ${exp}/.done to retrain)"
        return 0
    fi
    log "Stage 3: training ${exp} (log: ${exp}/train.log; replay: ${exp}/run.sh)"
    ${gpu_cmd} --num-threads "${threads}" "${exp}/train.log" "${train[@]}" \
        || die "training failed (see ${exp}/train.log)"
    echo "${key}" > "${exp}/.done.tmp" && mv "${exp}/.done.tmp" "${exp}/.done"
}

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    threads=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    [ "${cpu_threads}" -gt 0 ] && threads=${cpu_threads}
    [ "${ngpu}" -gt 0 ] && threads=1
    valid=data/remix_${valid_set}
    common=(--fs "${fs}" --speech_dir "data/${train_set}" --sound_dir "data/${sound_prefix}_train"
            --train_data_path_and_name_and_type "${remix_dump}/${train_set}/recipe,recipe,text"
            --train_shape_file "${remix_dump}/${train_set}/utt2num_samples"
            --valid_data_path_and_name_and_type "${valid}/wav.scp,speech_mix,sound"
            --valid_shape_file "${valid}/utt2num_samples" --ngpu "${ngpu}" --resume true)
    [ -z "${speech_styles}" ] || common+=(--speech_styles "${speech_styles}")
    if [ -z "${remix_model}" ]; then
        args=(python -m tse2.bin.remix_train --config "${remix_config}" --output_dir "${remix_exp}" "${common[@]}"
              --valid_data_path_and_name_and_type "${valid}/spk1.scp,speech_ref1,sound"
              --valid_data_path_and_name_and_type "${valid}/prompt,prompt,text")
        # shellcheck disable=SC2206
        args+=(${remix_args})
        train_exp "${remix_exp}" "${remix_config}" "${args[@]}"
    fi
    if [ "${cascade}" = true ] && [ -z "${cascade_model}" ]; then
        args=(python -m tse2.bin.remix_cascade_train --config "${cascade_config}" --output_dir "${cascade_exp}" "${common[@]}")
        for k in 1 2 3 4; do args+=(--valid_data_path_and_name_and_type "${valid}/src${k}.scp,speech_ref${k},sound"); done
        # shellcheck disable=SC2206
        args+=(${cascade_args})
        train_exp "${cascade_exp}" "${cascade_config}" "${args[@]}"
    fi
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    [ -f "${model}/config.yaml" ] || die "${model}: no trained remixer (run stage 3, or give --remix_model)"
    items=()
    for dset in ${test_sets}; do
        [ -f "data/${dset}/prompt" ] || continue
        items+=(--item "data/${dset},prompt,${dec_root}/decode_${dset}/prompt"
                --item "data/${dset},prompt_heldout,${dec_root}/decode_${dset}/heldout")
    done
    log "Stage 4: remixing ${test_sets} (training and held-out phrasings) with ${model} (${nj} jobs, logs: ${dec_root}/log/infer.*.log)"
    ${cmd} JOB=1:"${nj}" "${dec_root}/log/infer.JOB.log" \
        python -m tse2.bin.remix_eval infer --model_dir "${model}" "${items[@]}" --job JOB --njobs "${nj}" \
        || die "remixing failed (see ${dec_root}/log/infer.*.log)"
    if [ "${cascade}" = true ]; then
        [ -f "${cascade_sep}/config.yaml" ] || die "${cascade_sep}: no trained cascade separator (run stage 3, or give --cascade_model)"
        items=()
        for dset in ${test_sets}; do
            [ -f "data/${dset}/src1.scp" ] && items+=(--item "data/${dset},${cascade_dec}/decode_${dset}/cascade")
        done
        log "Stage 4: the ideal cascade on ${test_sets} with ${cascade_sep} (logs: ${cascade_dec}/log/cascade.*.log)"
        ${cmd} JOB=1:"${nj}" "${cascade_dec}/log/cascade.JOB.log" \
            python -m tse2.bin.remix_eval cascade --model_dir "${cascade_sep}" "${items[@]}" --job JOB --njobs "${nj}" \
            || die "the cascade failed (see ${cascade_dec}/log/cascade.*.log)"
    fi
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    results=${expdir}/results_remix_${remix_tag}
    rows=()
    for dset in ${test_sets}; do
        [ -f "data/${dset}/prompt" ] || continue
        for p in prompt heldout; do
            out=${dec_root}/decode_${dset}/${p}
            python -m tse2.bin.remix_eval score --data_dir "data/${dset}" --decode_dir "${out}" \
                || die "scoring ${out} failed"
            label="${dset#remix_}, ${p/prompt/training} phrasings"
            rows+=(--row "${label}=${out}")
        done
        out=${cascade_dec}/decode_${dset}/cascade
        if [ "${cascade}" = true ] && [ -d "${out}" ]; then
            python -m tse2.bin.remix_eval score --data_dir "data/${dset}" --decode_dir "${out}" || die "scoring ${out} failed"
            rows+=(--row "${dset#remix_}, ideal cascade (PIT + true gains)=${out}")
        fi
    done
    mkdir -p "${results}"
    python -m tse2.bin.remix_eval report --out "${results}/RESULTS.md" "${rows[@]}" \
        --title "Remixing with $(basename "${model}"): SNRi (dB) per task" || die "cannot write ${results}/RESULTS.md"
    if [ -n "${figure_tasks}" ]; then
        python -m tse2.bin.remix_eval figure --data_dir "data/remix_${test_set}" \
            --decode_dir "${dec_root}/decode_remix_${test_set}/prompt" --tasks "${figure_tasks}" \
            --out "${results}/spectrograms.png" || die "cannot draw ${results}/spectrograms.png"
    fi
    log "Stage 5: ${results}/RESULTS.md"
fi
log "Done"
