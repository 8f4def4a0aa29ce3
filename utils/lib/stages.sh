#!/usr/bin/env bash
# The stage machinery of every task script (tse2.sh, remix.sh, retrieval.sh; sourced by
# utils/lib/task.sh) and of the recipes' local/data.sh (for log and die).  One restart rule, one
# way to split work into jobs, one way to train:
#
#   log MSG / die MSG        time-stamped messages naming the script, line and function
#   skip_or_run WHAT MARKER SIGNATURE [OUTPUT | scp:LIST ...] -- COMMAND ...
#                            a unit of work (a stage, or one set, model or system of it) is done when
#                            MARKER holds exactly SIGNATURE (its options and input checksums) and its
#                            outputs are still there (scp:LIST: every file the list names); otherwise
#                            COMMAND runs and MARKER is written (atomically) after it succeeds.  An
#                            earlier stage rerun changes the checksums a later stage's signature holds.
#   digest FILE ...          md5 of the files' concatenation (a missing file counts as empty)
#   check_general_options "$@"
#                            after utils/parse_options.sh: no arguments left over, --nj, --ngpu,
#                            --cpu_threads and --fs well-formed, --cmd/--gpu_cmd default to cmd.sh's
#   run_jobs RUNNER LIST SPLIT_DIR NAME LOG_PREFIX COMMAND ...
#                            splits LIST (an scp or key list) into at most --nj parts
#                            SPLIT_DIR/NAME.<n> and runs COMMAND as the JOB array 1..n of RUNNER
#                            (run.pl, queue.pl, slurm.pl; JOB in COMMAND is the part number);
#                            `parts PATTERN` then lists the part outputs (JOB -> 1..n) for a merge.
#   train_threads            threads of a training job: 1 per GPU process, else --cpu_threads, else
#                            every core (nproc alone answers 1: path.sh pins OMP_NUM_THREADS=1)
#   launch_training STAGE EXP WHAT python -m MODULE OPTIONS ...
#                            an ESPnet training through ESPnet's launcher (--ngpu GPUs, --num_nodes
#                            nodes, DDP; fp16 on GPU; --resume true), saved as EXP/run.sh, a replay
#                            script.  Inside skip_or_run, a run resumes the checkpoints of the same
#                            training: EXP/.resume_key holds its signature without the epoch budget
#                            (training_signature's max_epoch=, --max_epoch in the args), so a larger
#                            --max_epoch goes on from the last epoch, as ESPnet's --resume does.
#                            Under other options or data the old checkpoints, config and log are
#                            moved to EXP/superseded/<time>/, never deleted, and training starts over.
#   training_signature CONFIG
#                            "config=<md5> max_epoch=<N>" of a training config: the md5 leaves out the
#                            config's max_epoch line, which is given on its own (a stage signature
#                            changes with the budget; the resume key does not)
#   resume_or_clear KEY PATH ...
#                            inside skip_or_run, for work that continues where it stopped (training,
#                            inference that keeps finished outputs): keeps PATHs when KEY holds this
#                            unit's signature (an interrupted run of it), else removes them and writes KEY
#   resume_or_set_aside KEY EXP PATH ...
#                            the same for hours of work (launch_training's checkpoints): another unit's
#                            PATHs are moved to EXP/superseded/<time>/ with a log line, never removed
#   run_local_data DIR ... [-- FILE ...]
#                            stage 1 of every task: local/data.sh with --nj --cmd --fs and
#                            --local_data_opts, then every DIR must exist (and hold each FILE) and
#                            pass tse2.bin.validate_data_dir
#   corpus_locations         the corpus paths db.sh resolves to: stage 1 reruns when one changes
#   record_run               appends this run's command line to EXPDIR/run_history.txt
#
# It reads the scripts' common options: nj, ngpu, cmd, gpu_cmd, cpu_threads, num_nodes (default 1),
# force (default false), fs, local_data_opts, expdir.

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
die() {
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}:${FUNCNAME[1]}) Error: $*" >&2
    exit 1
}

stage_done() {  # <marker> <signature> [<output file that must exist> | scp:<list of them> ...]
    [ "${force:-false}" = false ] && [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] || return 1
    local f missing
    for f in "${@:3}"; do
        if [ "${f#scp:}" != "${f}" ]; then  # every file an scp lists, e.g. the wavs of a mixture dir
            f=${f#scp:}
            [ -s "${f}" ] || { log "${f} is missing: rerunning"; return 1; }
            missing=$(awk '{ print $2 }' "${f}" | while read -r p; do [ -s "${p}" ] || { echo "${p}"; break; }; done)
            [ -z "${missing}" ] || { log "${missing} (listed in ${f}) is missing or empty: rerunning"; return 1; }
        else
            [ -s "${f}" ] || { log "${f} is missing: rerunning"; return 1; }
        fi
    done
}
mark_done() {  # <marker> <signature>
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" > "$1.tmp" && mv "$1.tmp" "$1"
}
skip_or_run() {  # <what> <marker> <signature> [<output> ...] -- <command ...>
    local what=$1 marker=$2 signature=$3 outputs=()
    shift 3
    while [ "$1" != -- ]; do outputs+=("$1"); shift; done
    shift
    if stage_done "${marker}" "${signature}" "${outputs[@]}"; then
        log "${what}: already done with the same options and inputs (${marker}); skipping"
        return 0
    fi
    rm -f "${marker}"
    _unit_signature=${signature}  # launch_training resumes only a run of this same unit
    "$@"
    _unit_signature=
    mark_done "${marker}" "${signature}"
}
digest() {  # <file> ... -> md5 of their concatenation; missing files count as empty
    local f
    for f in "$@"; do [ ! -f "${f}" ] || cat "${f}"; done | md5sum | cut -c1-32
}

check_general_options() {  # "$@" left after parse_options: the general options checked, runners defaulted
    [ $# -eq 0 ] || die "unexpected arguments: $*"
    [[ ${nj} =~ ^[1-9][0-9]*$ ]] || die "--nj must be a positive integer, got '${nj}'"
    [[ ${ngpu} =~ ^[0-9]+$ ]] || die "--ngpu must be a non-negative integer, got '${ngpu}'"
    [[ ${cpu_threads} =~ ^[0-9]+$ ]] || die "--cpu_threads must be a non-negative integer, got '${cpu_threads}'"
    [[ ${fs} =~ ^[1-9][0-9]*$ ]] || die "--fs must be a sample rate in Hz, got '${fs}'"
    cmd=${cmd:-${train_cmd}}
    gpu_cmd=${gpu_cmd:-${cuda_cmd}}
}

run_jobs() {  # <runner> <list> <split dir> <part name> <log prefix> <command ...>
    local runner=$1 list=$2 split=$3 name=$4 logs=$5
    shift 5
    _nj=$(utils/split_list.sh "${list}" "${split}" "${nj}" "${name}")
    log "  ${_nj} jobs (logs: ${logs}.*.log)"
    # shellcheck disable=SC2086
    ${runner} JOB=1:"${_nj}" "${logs}.JOB.log" "$@"
}
parts() {  # <pattern with JOB> -> one path per part of the last run_jobs
    local n
    for n in $(seq "${_nj}"); do printf '%s\n' "${1//JOB/${n}}"; done
}

train_threads() {
    if [ "${ngpu}" -gt 0 ]; then echo 1; elif [ "${cpu_threads}" -gt 0 ]; then echo "${cpu_threads}";
    else env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc; fi
}
launch_training() {  # <stage> <exp dir> <what> python -m <module> <options ...>
    local stage_no=$1 exp=$2 what=$3 use_amp=false threads
    shift 3
    [ "${ngpu}" -gt 0 ] && use_amp=true
    threads=$(train_threads)
    mkdir -p "${exp}"
    # another training's checkpoints (other options or data) must not be resumed, nor lost: set aside;
    # the same training with another epoch budget goes on (ESPnet's --resume runs to the new one)
    local budgetless
    budgetless=$(without_epoch_budget "${_unit_signature:-}")
    local _unit_signature=${budgetless}  # for resume_or_set_aside only: skip_or_run keeps the whole one
    resume_or_set_aside "${exp}/.resume_key" "${exp}" "${exp}"/*.pth "${exp}/images" "${exp}/config.yaml" "${exp}/train.log"
    # a job killed while ESPnet wrote its epoch files leaves them half-written: put them right first
    python -m tse2.tasks.resume "${exp}" || die "${exp}: cannot be resumed (see above)"
    # the fixed options go first, so that options given by the user (last) win
    local cmd_line=("${@:1:3}" --ngpu "${ngpu}" --use_amp "${use_amp}" --resume true "${@:4}")
    { echo "#!/usr/bin/env bash"; echo "# Stage ${stage_no} of $(pwd)/${_stage_script}; run from $(pwd)"; echo "cd $(pwd) && . ./path.sh";
      echo "python -m tse2.tasks.resume $(printf '%q' "${exp}")"
      echo "OMP_NUM_THREADS=${threads} $(printf '%q ' "${cmd_line[@]}")"; } > "${exp}/run.sh"
    chmod +x "${exp}/run.sh"
    log "Stage ${stage_no}: training the ${what} (log: ${exp}/train.log; replay: ${exp}/run.sh)"
    # the job runner gives the job its threads (path.sh, which every job sources, pins one)
    python -m espnet2.bin.launch \
        --cmd "${gpu_cmd} --num-threads ${threads}" --log "${exp}/train.log" --ngpu "${ngpu}" --num_nodes "${num_nodes:-1}" \
        --init_file_prefix "${exp}/.dist_init_" --multiprocessing_distributed true -- \
        "${cmd_line[@]}" || die "${what} training failed (see ${exp}/train.log)"
}

training_signature() {  # <config> -> "config=<md5 without its max_epoch line> max_epoch=<N>"
    # (a missing config counts as empty, as in digest: the training itself then says so)
    printf 'config=%s max_epoch=%s' "$(grep -Ev '^max_epoch[[:space:]]*:' "$1" 2>/dev/null | md5sum | cut -c1-32)" \
        "$(sed -n 's/^max_epoch[[:space:]]*:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$1" 2>/dev/null | tail -n 1)"
}
without_epoch_budget() {  # <signature> -> the signature without max_epoch=<N> and --max_epoch[= ]<N>
    printf '%s' "$1" | sed -E 's/(^| )max_epoch=[^ ]*//g; s/--max_epoch(=| +)[^ ]+//g; s/  +/ /g; s/= /=/g'
}
unit_changed() {  # <key file>: inside skip_or_run, whether KEY holds another unit's signature
    [ -n "${_unit_signature:-}" ] && [ "$(cat "$1" 2>/dev/null)" != "${_unit_signature}" ]
}
mark_unit() {  # <key file>
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "${_unit_signature}" > "$1"
}
resume_or_clear() {  # <key file> <path> ...
    unit_changed "$1" || return 0
    rm -rf "${@:2}"
    mark_unit "$1"
}
resume_or_set_aside() {  # <key file> <exp dir> <path> ...
    unit_changed "$1" || return 0
    local aside p
    aside="$2/superseded/$(date +%Y%m%d-%H%M%S)"
    for p in "${@:3}"; do
        [ -e "${p}" ] || [ -L "${p}" ] || continue
        mkdir -p "${aside}" && mv "${p}" "${aside}/" || die "cannot move ${p} into ${aside}"
    done
    if [ -d "${aside}" ]; then
        log "$2 held the checkpoints of other options or data: moved them to ${aside}; training starts over" \
            "(to start from one, add --init_param ${aside}/<epoch>.pth to the stage's args)"
    fi
    mark_unit "$1"
}
run_local_data() {  # <data dir> ... [-- <file each must hold> ...]
    local dirs=() files=() d f
    while [ $# -gt 0 ] && [ "$1" != -- ]; do dirs+=("$1"); shift; done
    [ $# -eq 0 ] || { shift; files=("$@"); }
    # shellcheck disable=SC2086
    local/data.sh --nj "${nj}" --cmd "${cmd}" --fs "${fs}" ${local_data_opts}
    for d in "${dirs[@]}"; do
        [ -d "${d}" ] || die "local/data.sh did not create ${d}"
        for f in "${files[@]}"; do [ -f "${d}/${f}" ] || die "local/data.sh did not write ${d}/${f}"; done
    done
    python -m tse2.bin.validate_data_dir --fs "${fs}" "${dirs[@]}" || die "invalid data dirs (see the messages above)"
}
corpus_locations() {  # the corpus paths db.sh resolves to (part of stage 1's signature): one VAR=value a line
    [ -f db.sh ] || return 0
    (
        # shellcheck disable=SC1091
        . ./db.sh
        local v
        for v in $(sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' db.sh); do echo "${v}=${!v:-}"; done
    )
}
record_run() {
    mkdir -p "${expdir}"
    printf '%s\n' "${run_args}" >> "${expdir}/run_history.txt"
}
_stage_script=${0##*/}
