# shellcheck shell=bash
# cmd.sh: which job runner the stages use.  Change cmd_backend only.
#   local: run.pl, jobs on this machine
#   sge:   queue.pl, Grid Engine array jobs (flags from conf/queue.conf)
#   slurm: slurm.pl, Slurm array jobs (flags from conf/slurm.conf)
cmd_backend=local

case "${cmd_backend}" in
local)
    export train_cmd="run.pl"
    export cuda_cmd="run.pl"
    export decode_cmd="run.pl"
    ;;
sge)
    export train_cmd="queue.pl --mem 4G"
    export cuda_cmd="queue.pl --mem 16G --gpu 1"
    export decode_cmd="queue.pl --mem 4G"
    ;;
slurm)
    export train_cmd="slurm.pl --mem 4G"
    export cuda_cmd="slurm.pl --mem 16G --gpu 1"
    export decode_cmd="slurm.pl --mem 4G"
    ;;
*)
    echo "cmd.sh: unknown cmd_backend '${cmd_backend}' (local, sge or slurm)" >&2
    return 1
    ;;
esac
