# shellcheck shell=bash
# local_data.sh: the head of every recipe's local/data.sh (stage 1), sourced after its
# set -euo pipefail and before its own options:
#   - log and die (utils/lib/stages.sh), as in the task scripts;
#   - the options stage 1 passes to every local/data.sh (run_local_data: --nj --cmd --fs), and
#     the corpus seed; utils/parse_options.sh turns each into --<name> <value>;
#   - synthesize_plan WORK WAV_DIR [OPTION ...]: the utterances of WORK/plan.jsonl listed in
#     WORK/utt.list, synthesized by `tse2.bin.espeak_corpus synth` in --nj jobs of --cmd (logs
#     WORK/log/synth.<n>.log); OPTIONs go to synth (e.g. --voices_dir).  Finished utterances of
#     the same plan are kept by synth itself.
. utils/lib/stages.sh
# shellcheck disable=SC2034  # read by the local/data.sh that sources this file
nj=2                       # parallel synthesis / preparation jobs
cmd=run.pl                 # job runner
fs=16000                   # output sample rate, in Hz
seed=0                     # corpus seed: same seed, same corpus

synthesize_plan() {  # <work dir> <wav dir> [synth option ...]
    local work=$1 wav_dir=$2 n
    shift 2
    rm -rf "${work}/split"
    n=$(utils/split_list.sh "${work}/utt.list" "${work}/split" "${nj}" utt.list)
    log "Synthesizing $(wc -l < "${work}/utt.list") utterances with ${n} jobs (logs: ${work}/log/synth.*.log)"
    ${cmd} JOB=1:"${n}" "${work}/log/synth.JOB.log" \
        python -m tse2.bin.espeak_corpus synth --plan "${work}/plan.jsonl" \
            --utt_list "${work}/split/utt.list.JOB" --wav_dir "${wav_dir}" --fs "${fs}" "$@"
}
