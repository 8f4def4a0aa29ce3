#!/usr/bin/env bash
# Sourced by the stage scripts (tse2.sh, remix.sh, retrieval.sh): one run per recipe dir, and a
# stopped run stops all of its work.
#
#   guard_stages        first thing in the script: starts a watchdog that, once a second, notes
#                       every process under the script (job runners, python jobs, their workers).
#                       When the script is killed, or its parent (run.sh) is, the watchdog stops
#                       them all and the script with them: it freezes the tree (SIGSTOP) and looks
#                       again until no new process appears (a job the script was starting in that
#                       second is caught too), then sends SIGTERM and SIGCONT, and SIGKILL after 10 s.
#                       An exit with no job left running (done, or an error) stops the watchdog first.
#   guard_recipe_dir    after the options: takes the recipe dir's lock (.stage_lock, flock); a
#                       second run in the same dir waits up to 15 s (a stopped run's jobs need a
#                       moment to go), then is refused, naming the run that holds it.
#
# No new process group or session is made, so a kill of the whole process group (a terminal's
# Ctrl-C, kill -9 -- -PGID) still reaches everything at once.  Jobs sent to a cluster scheduler
# (queue.pl, slurm.pl) are cancelled only as far as those runners do on SIGTERM.

_descendants() {  # <pid> ["<pids not to enter>"] -> every process under <pid> (one ps call)
    ps -e -o pid= -o ppid= 2> /dev/null | awk -v root="$1" -v skip=" ${2:-0} " '
        { kids[$2] = kids[$2] " " $1 }
        END { n = split(kids[root], q, " "); i = 1
              while (i <= n) { p = q[i++]; if (index(skip, " " p " ")) continue; print p
                               m = split(kids[p], c, " "); for (j = 1; j <= m; j++) q[++n] = c[j] } }'
}

_running() {  # <pid>: it exists and is not a zombie (a killed run.sh its parent has not reaped yet)
    local state
    state=$(ps -o stat= -p "$1" 2> /dev/null) || return 1
    [ -n "${state}" ] && [ "${state#Z}" = "${state}" ]
}

guard_stages() {
    local script=$$ parent=${PPID}
    (
        set +eu
        trap '' HUP INT
        me=${BASHPID}
        known=
        while kill -0 "${script}" 2> /dev/null && _running "${parent}"; do
            known=$(_descendants "${script}" "${me}")
            sleep 1 > /dev/null 2>&1
        done
        # the script or its parent is gone without a normal exit: stop what it left running.  The
        # script may still be starting a job, and a runner may be starting its next one: freeze
        # the whole tree (SIGSTOP) and look again until nothing new appears, so that a job started
        # after the last look is stopped too; then SIGTERM and SIGCONT, so that they can exit.
        roots=${known}
        kill -0 "${script}" 2> /dev/null && roots="${script} ${roots}"
        pids=
        for _ in 1 2 3 4 5; do
            new=
            for r in ${roots}; do
                for p in ${r} $(_descendants "${r}" "${me}"); do
                    case " ${pids} ${new} " in *" ${p} "*) ;; *) kill -0 "${p}" 2> /dev/null && new="${new} ${p}";; esac
                done
            done
            [ -z "${new// /}" ] && break
            kill -STOP ${new} 2> /dev/null
            pids="${pids} ${new}"
        done
        [ -n "${pids// /}" ] || exit 0
        pids=$(echo ${pids})
        echo "$(date '+%Y-%m-%dT%H:%M:%S') stage_guard: the run (pid ${script}) was stopped; stopping its jobs:" \
             ${pids} >&2
        kill -TERM ${pids} 2> /dev/null
        kill -CONT ${pids} 2> /dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            alive=
            for p in ${pids}; do kill -0 "${p}" 2> /dev/null && alive="${alive} ${p}"; done
            [ -z "${alive}" ] && exit 0
            sleep 1 > /dev/null 2>&1
        done
        kill -KILL ${alive} 2> /dev/null
        exit 0
    ) < /dev/null &
    _stage_watchdog=$!
    # bash runs the EXIT trap also when a signal kills it (with $? of the last finished command):
    # the watchdog stays while a job is still running under the script, and goes on a real end
    trap '[ -n "$(_descendants $$ "${_stage_watchdog} ${BASHPID}")" ] || kill "${_stage_watchdog}" 2> /dev/null' EXIT
}

guard_recipe_dir() {  # [<the command line, for the message a second run gets>]
    local lock=.stage_lock holder
    exec 9>> "${lock}"
    if ! flock -w "${TSE2_LOCK_WAIT:-15}" 9; then
        holder=$(cat "${lock}" 2> /dev/null)
        echo "$(date '+%Y-%m-%dT%H:%M:%S') Error: another run holds this recipe dir ($(pwd)/${lock}):" \
             "${holder:-unknown}. Wait for it to end, or stop it (kill <its pid>: its jobs stop with it)." >&2
        exit 1
    fi
    printf 'pid %s on %s since %s: %s\n' "$$" "$(hostname)" "$(date '+%Y-%m-%dT%H:%M:%S')" "${1:-$0}" > "${lock}"
}
