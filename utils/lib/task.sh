# shellcheck shell=bash
# task.sh: the head of every task script (tse2.sh, remix.sh, retrieval.sh), sourced first, with the
# script's own arguments (after its set -euo pipefail):
#   - one run per recipe dir; stopping run.sh or the script stops all of its jobs (stage_guard.sh);
#   - log, die, skip_or_run, digest, run_jobs, parts, launch_training, record_run (stages.sh);
#   - run_args: the command line, for the run history and the one-run guard;
#   - the general options stage, stop_stage, nj, ngpu, cmd, gpu_cmd, cpu_threads, force, fs
#     (options.sh; check_general_options checks them after utils/parse_options.sh).
. utils/lib/stage_guard.sh
guard_stages
. utils/lib/stages.sh
# shellcheck disable=SC2034  # read by the task script
run_args=$(printf "%q " "$0" "$@")
. utils/lib/options.sh
