# shellcheck shell=bash
# options.sh: the general options of every task script (tse2.sh, remix.sh, retrieval.sh), sourced
# before the task's own options; utils/parse_options.sh turns each into --<name> <value>, and
# check_general_options (utils/lib/stages.sh) checks them after parsing.
# shellcheck disable=SC2034  # read by the task script that sources this file
stage=1               # first stage to run
stop_stage=10000      # last stage to run
nj=2                  # parallel jobs of the CPU stages
ngpu=0                # GPUs per training job (0: CPU)
cmd=                  # job runner of the CPU stages (default: train_cmd of cmd.sh)
gpu_cmd=              # job runner of training and GPU stages (default: cuda_cmd of cmd.sh)
cpu_threads=0         # threads of a training job run on CPU (0: every core)
force=false           # rerun stages even when their done-marker matches
fs=16000              # sample rate of every data dir, in Hz (each model records it in its config)
