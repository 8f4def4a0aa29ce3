#!/usr/bin/env bash
# remix.sh: the one stage script of every text-guided remixing recipe (Listen, Chat, and Remix;
# ../../../shared/seeds/listen-chat-remix).  A recipe's run.sh calls it with its corpus settings.
# Logic lives in python -m tse2.bin.remix_*; this script orders the work.  Inputs and outputs of
# each stage: egs/TEMPLATE/remix/README.md.
#
#   ./run.sh [--stage N] [--stop_stage M] [--nj 2] [--ngpu 1] [--cmd "queue.pl --mem 4G"]
#
# Every stage (or each set or model of it) leaves a marker holding the options and inputs it ran
# with and is skipped on a rerun with the same ones (utils/lib/stages.sh; --force true reruns).
#
# Stages:
#   1  data: local/data.sh writes speech data dirs (utt2spk, spk2gender, utt2style) and sound-bank
#      data dirs (utt2category), validated
#   2  simulation: dump/remix/train/ (dynamic-mixing slots), data/remix_<set>/ (fixed mixtures,
#      targets, sources, one task and prompt each; the zero-shot sets of Table III, and
#      remix_<test>_absent: prompts naming a source the mixture lacks)
#   3  training: exp/remix_<tag>/ (ESPnet trainer; none when --remix_model is given) and the
#      cascade's separator exp/remix_cascade/ (with --cascade true, none when --cascade_model is given)
#   4  inference: exp/<model>/decode_<set>/{prompt,heldout,handwritten}/ (one per --phrasings; nj jobs,
#      restartable)
#   5  scoring: SNRi per task -> exp/<model>/decode_*/*/summary.json, exp/results_remix_<tag>/RESULTS.md
#      and spectrograms.png (before / after / target of example prompts)
set -euo pipefail
# the guard, the stage machinery and the general options (stage, stop_stage, nj, ngpu, cmd,
# gpu_cmd, cpu_threads, force, fs): utils/lib/task.sh
. utils/lib/task.sh

train_set=train       # speech data dirs of local/data.sh
valid_set=dev
test_sets=test        # the speech test set the fixed test mixtures are drawn from (one)
test_set=             # old name of --test_sets
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
phrasings="prompt heldout handwritten"  # the prompts of every test mixture stages 4-5 remix and score:
                      # prompt (training phrasings), heldout (the engine's held-out grammar and words),
                      # handwritten (the sentences of tse2/cues/handwritten/remix.txt)

# shellcheck disable=SC1091
. ./path.sh
# shellcheck disable=SC1091
. ./cmd.sh
. utils/parse_options.sh
guard_recipe_dir "${run_args}"
check_general_options "$@"
prompt_file() {  # <phrasing> -> the data dir file holding its prompts
    case $1 in
        prompt) echo prompt ;;
        heldout|handwritten) echo "prompt_$1" ;;
        *) die "--phrasings: unknown phrasing '$1' (prompt, heldout, handwritten)" ;;
    esac
}
phrasing_name() {  # <phrasing> -> its name in RESULTS.md
    case $1 in prompt) echo training ;; handwritten) echo hand-written ;; *) echo "$1" ;; esac
}
for _p in ${phrasings}; do prompt_file "${_p}" > /dev/null; done
[ -z "${test_set}" ] || test_sets=${test_set}
read -r -a _sets <<< "${test_sets}"
[ "${#_sets[@]}" -eq 1 ] || die "--test_sets: remix draws its test mixtures from one speech set, got '${test_sets}'"
test_set=${_sets[0]}
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
test_sets_all="remix_${test_set}"
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
[ "${n_absent}" -gt 0 ] && test_sets_all+=" remix_${test_set}_absent"
[ "${n_zeroshot}" -gt 0 ] && test_sets_all+=" remix_${test_set}_2s remix_${test_set}_2s1a remix_${test_set}_1s2a remix_${test_set}_unseen"

record_run
decode_outputs() {  # <decode dir> ... -> the remixes' lists (wav.scp, or one part per job), for skip_or_run
    local d f any
    for d in "$@"; do
        any=false
        for f in "${d}/wav.scp" "${d}"/wav.scp.*; do [ -f "${f}" ] && { echo "scp:${f}"; any=true; }; done
        [ "${any}" = true ] || echo "${d}/wav.scp"
    done
}
model_digest() {  # <model dir> -> checksum of its config and checkpoints (what inference reads)
    digest "$1/config.yaml" $(find "$1" -maxdepth 1 -name '*.pth' | LC_ALL=C sort)
}

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "Stage 1: data preparation (speech ${train_set} ${valid_set} ${test_set}; sound bank ${sound_prefix}_*)"
    speech_dirs="${train_set} ${valid_set} ${test_set}"
    sound_dirs="${sound_prefix}_train ${sound_prefix}_valid ${sound_prefix}_test"
    prepare_data() {  # speech dirs need these files, the sound banks utt2category
        run_local_data $(for d in ${speech_dirs}; do echo "data/${d}"; done) -- utt2spk spk2gender utt2style
        local d
        for d in ${sound_dirs}; do [ -f "data/${d}/utt2category" ] || die "local/data.sh did not write data/${d}/utt2category"; done
        python -m tse2.bin.validate_data_dir --fs "${fs}" $(for d in ${sound_dirs}; do echo "data/${d}"; done) \
            || die "invalid data dirs (see the messages above)"
    }
    # shellcheck disable=SC2046
    skip_or_run "Stage 1" data/.stage1.done "local_data_opts=${local_data_opts} fs=${fs} sets=${speech_dirs} ${sound_dirs} corpora=$(corpus_locations | tr '\n' ' ')" \
        $(for d in ${speech_dirs} ${sound_dirs}; do echo "data/${d}/wav.scp"; done) -- prepare_data
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
    log "Stage 2: ${n_train_slots} training slots (dynamic mixing) in ${remix_dump}/${train_set}"
    skip_or_run "Stage 2: training slots" "${remix_dump}/.stage2.${train_set}.done" \
        "num=${n_train_slots} length=${length} fs=${fs}" "${remix_dump}/${train_set}/recipe" -- \
        python -m tse2.bin.remix_data slots --out "${remix_dump}/${train_set}" --num "${n_train_slots}" \
            --length "${length}" --fs "${fs}"
    while read -r name speech sound n_s n_a seed num opts; do
        [ -d "data/${sound}" ] || { log "Stage 2: no data/${sound}: ${name} skipped"; continue; }
        log "Stage 2: ${name}: ${num} mixtures of ${n_s} speech + ${n_a} audio"
        # shellcheck disable=SC2086
        skip_or_run "Stage 2: ${name}" "data/.stage2.${name}.done" \
            "speech=${speech} sound=${sound} n=${n_s}/${n_a} seed=${seed} num=${num} opts=${opts} styles=${speech_styles} length=${length} fs=${fs} wav=${dumpdir} inputs=$(digest "data/.stage1.done" "data/${speech}/wav.scp" "data/${sound}/wav.scp")" \
            "data/${name}/prompt" "data/${name}/prompt_handwritten" scp:"data/${name}/wav.scp" -- \
            python -m tse2.bin.remix_data set --speech_dir "data/${speech}" --sound_dir "data/${sound}" \
                --speech_styles "${speech_styles}" --out "data/${name}" --wav_dir "${dumpdir}/remix_wav/${name}" \
                --num "${num}" --seed "${seed}" --n_speech "${n_s}" --n_audio "${n_a}" --length "${length}" --fs "${fs}" \
                ${opts} || die "cannot simulate ${name}"
    done < <(set_specs)
fi

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
    valid=data/remix_${valid_set}
    common=(--fs "${fs}" --speech_dir "data/${train_set}" --sound_dir "data/${sound_prefix}_train"
            --train_data_path_and_name_and_type "${remix_dump}/${train_set}/recipe,recipe,text"
            --train_shape_file "${remix_dump}/${train_set}/utt2num_samples"
            --valid_data_path_and_name_and_type "${valid}/wav.scp,speech_mix,sound"
            --valid_shape_file "${valid}/utt2num_samples")
    [ -z "${speech_styles}" ] || common+=(--speech_styles "${speech_styles}")
    inputs=$(digest "data/${train_set}/wav.scp" "data/${sound_prefix}_train/wav.scp" "${valid}/gains" \
                    "${remix_dump}/${train_set}/recipe")
    if [ -z "${remix_model}" ]; then
        args=(python -m tse2.bin.remix_train --config "${remix_config}" --output_dir "${remix_exp}" "${common[@]}"
              --valid_data_path_and_name_and_type "${valid}/spk1.scp,speech_ref1,sound"
              --valid_data_path_and_name_and_type "${valid}/prompt,prompt,text")
        # shellcheck disable=SC2206
        args+=(${remix_args})
        skip_or_run "Stage 3: ${remix_exp}" "${remix_exp}/.stage3.done" \
            "$(training_signature "${remix_config}") args=${remix_args} styles=${speech_styles} ngpu=${ngpu} inputs=${inputs}" \
            "${remix_exp}/config.yaml" -- launch_training 3 "${remix_exp}" remixer "${args[@]}"
    fi
    if [ "${cascade}" = true ] && [ -z "${cascade_model}" ]; then
        args=(python -m tse2.bin.remix_cascade_train --config "${cascade_config}" --output_dir "${cascade_exp}" "${common[@]}")
        for k in 1 2 3 4; do args+=(--valid_data_path_and_name_and_type "${valid}/src${k}.scp,speech_ref${k},sound"); done
        # shellcheck disable=SC2206
        args+=(${cascade_args})
        skip_or_run "Stage 3: ${cascade_exp}" "${cascade_exp}/.stage3.done" \
            "$(training_signature "${cascade_config}") args=${cascade_args} styles=${speech_styles} ngpu=${ngpu} inputs=${inputs}" \
            "${cascade_exp}/config.yaml" -- launch_training 3 "${cascade_exp}" "cascade separator" "${args[@]}"
    fi
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
    # decode <remix_eval command> <model> <decode root> <what>: the --item list in ${items[@]}, their
    # output dirs in ${outs[@]}; one JOB array over every set (run_jobs splits the list of
    # '<item number>:<mix>' lines), logs <root>/log/<command>.JOB.log
    decode() {
        local sub=$1 mdl=$2 root=$3 what=$4
        run_decode() {
            resume_or_clear "${root}/.stage4.${sub}.key" "${outs[@]}"  # another model's outputs are not kept
            local n=0 spec
            mkdir -p "${root}"
            for spec in "${items[@]}"; do
                [ "${spec}" != --item ] || continue
                n=$((n + 1))
                awk -v n="${n}" '{print n ":" $1}' "${spec%%,*}/wav.scp"
            done > "${root}/${sub}.list"
            log "Stage 4: ${what} with ${mdl}"
            run_jobs "${cmd}" "${root}/${sub}.list" "${root}/split_${sub}" list "${root}/log/${sub}" \
                python -m tse2.bin.remix_eval "${sub}" --model_dir "${mdl}" "${items[@]}" \
                    --keys "${root}/split_${sub}/list.JOB" --part JOB \
                || die "${what} failed (see ${root}/log/${sub}.*.log)"
        }
        # shellcheck disable=SC2046
        skip_or_run "Stage 4: ${root} ${sub}" "${root}/.stage4.${sub}.done" \
            "model=$(model_digest "${mdl}") nj=${nj} inputs=$(digest $(for d in ${test_sets_all}; do echo "data/.stage2.${d}.done"; done))" \
            $(decode_outputs "${outs[@]}") -- run_decode
    }
    [ -f "${model}/config.yaml" ] || die "${model}: no trained remixer (run stage 3, or give --remix_model)"
    items=() outs=()
    for dset in ${test_sets_all}; do
        [ -f "data/${dset}/prompt" ] || continue
        for p in ${phrasings}; do
            [ -f "data/${dset}/$(prompt_file "${p}")" ] || die "data/${dset}/$(prompt_file "${p}") is missing: rerun stage 2"
            items+=(--item "data/${dset},$(prompt_file "${p}"),${dec_root}/decode_${dset}/${p}")
            outs+=("${dec_root}/decode_${dset}/${p}")
        done
    done
    decode infer "${model}" "${dec_root}" "remixing ${test_sets_all} (phrasings: ${phrasings})"
    if [ "${cascade}" = true ]; then
        [ -f "${cascade_sep}/config.yaml" ] || die "${cascade_sep}: no trained cascade separator (run stage 3, or give --cascade_model)"
        items=() outs=()
        for dset in ${test_sets_all}; do
            [ -f "data/${dset}/src1.scp" ] || continue
            items+=(--item "data/${dset},${cascade_dec}/decode_${dset}/cascade")
            outs+=("${cascade_dec}/decode_${dset}/cascade")
        done
        decode cascade "${cascade_sep}" "${cascade_dec}" "the ideal cascade on ${test_sets_all}"
    fi
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
    results=${expdir}/results_remix_${remix_tag}
    rows=()
    summaries=()
    score_dir() {  # <set> <decode dir> <stage-4 marker>: SNRi per task -> <decode dir>/summary.json
        skip_or_run "Stage 5: $2" "$2/.stage5.done" "decoded=$(digest "$3") data=$(digest "data/.stage2.$1.done")" \
            "$2/summary.json" -- python -m tse2.bin.remix_eval score --data_dir "data/$1" --decode_dir "$2" \
            || die "scoring $2 failed"
        summaries+=("$2/summary.json")
    }
    for dset in ${test_sets_all}; do
        [ -f "data/${dset}/prompt" ] || continue
        for p in ${phrasings}; do
            out=${dec_root}/decode_${dset}/${p}
            score_dir "${dset}" "${out}" "${dec_root}/.stage4.infer.done"
            rows+=(--row "${dset#remix_}, $(phrasing_name "${p}") phrasings=${out}")
        done
        out=${cascade_dec}/decode_${dset}/cascade
        if [ "${cascade}" = true ] && [ -d "${out}" ]; then
            score_dir "${dset}" "${out}" "${cascade_dec}/.stage4.cascade.done"
            rows+=(--row "${dset#remix_}, ideal cascade (PIT + true gains)=${out}")
        fi
    done
    report() {
        mkdir -p "${results}"
        python -m tse2.bin.remix_eval report --out "${results}/RESULTS.md" "${rows[@]}" \
            --title "Remixing with $(basename "${model}"): SNRi (dB) per task" || die "cannot write ${results}/RESULTS.md"
        if [ -n "${figure_tasks}" ]; then
            python -m tse2.bin.remix_eval figure --data_dir "data/remix_${test_set}" \
                --decode_dir "${dec_root}/decode_remix_${test_set}/prompt" --tasks "${figure_tasks}" \
                --out "${results}/spectrograms.png" || die "cannot draw ${results}/spectrograms.png"
        fi
    }
    skip_or_run "Stage 5: ${results}" "${results}/.stage5.done" \
        "model=$(basename "${model}") rows=${rows[*]} figure=${figure_tasks} scores=$(digest "${summaries[@]}")" \
        "${results}/RESULTS.md" -- report
    log "Stage 5: ${results}/RESULTS.md"
fi
log "Done"
