"""Job runners: run.pl array jobs and failure propagation; queue.pl/slurm.pl command lines
(checked through stand-in qsub/sbatch that record their arguments and run the tasks); split_scp.pl."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import UTILS

FAKE_QSUB = """#!/usr/bin/env bash
echo "$@" >> "$(dirname "$0")/qsub.args"
range=1:1; script="${@: -1}"
while [ $# -gt 0 ]; do case $1 in -t) range=$2; shift;; esac; shift; done
for i in $(seq ${range%:*} ${range#*:}); do SGE_TASK_ID=$i bash "$script" & done; wait
"""
FAKE_SBATCH = """#!/usr/bin/env bash
echo "$@" >> "$(dirname "$0")/sbatch.args"
script="${@: -1}"; range=1-1
for a in "$@"; do case $a in --array=*) range=${a#--array=}; range=${range%%%*};; esac; done
for i in $(seq ${range%-*} ${range#*-}); do SLURM_ARRAY_TASK_ID=$i bash "$script" & done; wait
"""


def _exe(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_run_pl_array_writes_per_job_logs(tmp_path, bash):
    bash([str(UTILS / "run.pl"), "JOB=1:3", "log/x.JOB.log", "echo", "job", "JOB"], cwd=tmp_path)
    for i in (1, 2, 3):
        log = (tmp_path / f"log/x.{i}.log").read_text()
        assert f"job {i}\n" in log and "# Ended (code 0)" in log and log.startswith(f"# echo job {i}")


def test_run_pl_fails_when_one_job_fails(tmp_path, bash):
    out = bash([str(UTILS / "run.pl"), "JOB=1:4", "log/x.JOB.log", "test", "JOB", "-ne", "3"], cwd=tmp_path, check=False)
    assert out.returncode == 1
    assert "1 / 4 failed" in out.stderr and "log/x.*.log" in out.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/x.3.log").read_text()
    assert "# Ended (code 0)" in (tmp_path / "log/x.4.log").read_text()


def test_run_pl_limits_parallel_jobs_and_runs_pipelines(tmp_path, bash):
    # with one slot, jobs run one after another: each sees the previous one's file
    bash([str(UTILS / "run.pl"), "--max-jobs-run", "1", "JOB=1:3", "log/x.JOB.log",
          "ls done.* 2>/dev/null | wc -l > tmp.JOB && mv tmp.JOB done.JOB"], cwd=tmp_path)
    assert [(tmp_path / f"done.{i}").read_text().strip() for i in (1, 2, 3)] == ["0", "1", "2"]


def test_run_pl_runs_jobs_in_parallel_under_path_sh(tmp_path, bash):
    # path.sh sets OMP_NUM_THREADS=1, which `nproc` honours: run.pl must still use every core
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two CPUs")
    wait_other = ("touch start.JOB; other=$((3 - JOB)); "
                  "for i in $(seq 100); do [ -f start.$other ] && exit 0; sleep 0.05; done; exit 1")
    out = bash([str(UTILS / "run.pl"), "JOB=1:2", "log/p.JOB.log", wait_other], cwd=tmp_path,
               env={"OMP_NUM_THREADS": "1"}, check=False)
    assert out.returncode == 0, "the two jobs did not run at the same time"


@pytest.mark.parametrize("args,message", [
    (["--bogus", "1", "log/x.log", "true"], "unknown option --bogus"),
    (["JOB=1:2", "log/x.log", "true"], "must contain JOB"),
    (["JOB=3:1", "log/x.JOB.log", "true"], "empty job range"),
    (["log/x.log"], "missing log file and command"),
])
def test_run_pl_usage_errors(tmp_path, bash, args, message):
    out = bash([str(UTILS / "run.pl"), *args], cwd=tmp_path, check=False)
    assert out.returncode != 0 and message in out.stderr


def test_queue_pl_builds_qsub_command_from_config(tmp_path, bash):
    qsub = _exe(tmp_path / "qsub", FAKE_QSUB)
    out = bash([str(UTILS / "queue.pl"), "--mem", "4G", "--num-threads", "2", "--gpu", "1", "--max-jobs-run", "5",
                "JOB=1:3", "log/q.JOB.log", "echo", "task", "JOB", "&&", "test", "JOB", "-ne", "3"],
               cwd=tmp_path, env={"TSE2_QSUB": qsub, "TSE2_POLL_SECONDS": "0.1"}, check=False)
    assert out.returncode == 1 and "1 / 3 failed" in out.stderr
    args = (tmp_path / "qsub.args").read_text()
    for flag in ("-v PATH -cwd -S /bin/bash -j y", "-l mem_free=4G", "-pe smp 2",
                 "-l gpu=1 -q g.q", "-tc 5", "-t 1:3"):
        assert flag in args, (flag, args)
    assert "task 2" in (tmp_path / "log/q.2.log").read_text()


def test_jobs_get_the_threads_they_ask_for(tmp_path, bash):
    # path.sh pins one thread per job; --num-threads N is how a training job gets N (run.pl and
    # the job scripts of queue.pl/slurm.pl, which source path.sh before the command)
    (tmp_path / "path.sh").write_text("export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1\n")
    show = ["echo", "threads=$OMP_NUM_THREADS/$MKL_NUM_THREADS"]
    bash([str(UTILS / "run.pl"), "--num-threads", "2", "log/r2.log", *show], cwd=tmp_path, env={"OMP_NUM_THREADS": "7"})
    bash([str(UTILS / "run.pl"), "log/r1.log", *show], cwd=tmp_path, env={"OMP_NUM_THREADS": "7"})
    assert "threads=2/2" in (tmp_path / "log/r2.log").read_text()
    assert "threads=1/1" in (tmp_path / "log/r1.log").read_text()
    qsub = _exe(tmp_path / "qsub", FAKE_QSUB)
    bash([str(UTILS / "queue.pl"), "--num-threads", "3", "log/q.log", *show], cwd=tmp_path,
         env={"TSE2_QSUB": qsub, "TSE2_POLL_SECONDS": "0.1"})
    log = (tmp_path / "log/q.log").read_text()
    assert "threads=3/3" in log and "threads=3" in log.split("# Accounting:")[1]


def test_queue_pl_reads_conf_queue_conf(tmp_path, bash):
    qsub = _exe(tmp_path / "qsub", FAKE_QSUB)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/queue.conf").write_text("command qsub -q my.q\noption mem=* -l h_vmem=$0\ndefault gpu=0\noption gpu=0\n")
    bash([str(UTILS / "queue.pl"), "--mem", "2G", "log/one.log", "true"], cwd=tmp_path,
         env={"TSE2_QSUB": qsub, "TSE2_POLL_SECONDS": "0.1"})
    args = (tmp_path / "qsub.args").read_text()
    assert "-q my.q" in args and "-l h_vmem=2G" in args and "-t" not in args.split()
    out = bash([str(UTILS / "queue.pl"), "--num-threads", "4", "log/one.log", "true"], cwd=tmp_path,
               env={"TSE2_QSUB": qsub}, check=False)
    assert out.returncode != 0 and "no rule for option --num-threads=4" in out.stderr


def test_slurm_pl_builds_sbatch_command(tmp_path, bash):
    sbatch = _exe(tmp_path / "sbatch", FAKE_SBATCH)
    bash([str(UTILS / "slurm.pl"), "--mem", "4G", "--gpu", "2", "--time", "1:00:00", "--max-jobs-run", "2",
          "JOB=2:4", "log/s.JOB.log", "echo", "task", "JOB"],
         cwd=tmp_path, env={"TSE2_SBATCH": sbatch, "TSE2_POLL_SECONDS": "0.1"})
    args = (tmp_path / "sbatch.args").read_text()
    for flag in ("--export=PATH", "--mem-per-cpu 4G", "-p gpu --gres=gpu:2", "--time 1:00:00", "--array=2-4%2"):
        assert flag in args, (flag, args)
    assert "task 4" in (tmp_path / "log/s.4.log").read_text()
    assert not (tmp_path / "log/s.1.log").exists()


def test_split_scp(tmp_path, bash):
    (tmp_path / "in.scp").write_text("".join(f"s{i // 4}-u{i} x\n" for i in range(10)))
    outs = [str(tmp_path / f"o.{i}") for i in (1, 2, 3)]
    bash([str(UTILS / "split_scp.pl"), str(tmp_path / "in.scp"), *outs])
    parts = [Path(o).read_text().splitlines() for o in outs]
    assert [len(p) for p in parts] == [3, 4, 3] and sum(parts, []) == (tmp_path / "in.scp").read_text().splitlines()
    # keep speakers together
    (tmp_path / "utt2spk").write_text("".join(f"s{i // 4}-u{i} s{i // 4}\n" for i in range(10)))
    bash([str(UTILS / "split_scp.pl"), "--utt2spk", str(tmp_path / "utt2spk"), str(tmp_path / "in.scp"), *outs])
    spk_sets = [{ln.split("-")[0] for ln in Path(o).read_text().splitlines()} for o in outs]
    assert all(len(s) == 1 for s in spk_sets) and len(set.union(*spk_sets)) == 3
    out = bash([str(UTILS / "split_scp.pl"), str(tmp_path / "in.scp"), *[str(tmp_path / f"p{i}") for i in range(11)]], check=False)
    assert out.returncode != 0 and "cannot split 10 lines" in out.stderr


def test_split_list_caps_parts_at_the_line_count(tmp_path, bash):
    (tmp_path / "l").write_text("a 1\nb 2\nc 3\n")
    out = bash([str(UTILS / "split_list.sh"), str(tmp_path / "l"), str(tmp_path / "s"), "8", "l"])
    assert out.stdout.strip() == "3" and sorted(p.name for p in (tmp_path / "s").iterdir()) == ["l.1", "l.2", "l.3"]
    (tmp_path / "e").write_text("")
    out = bash([str(UTILS / "split_list.sh"), str(tmp_path / "e"), str(tmp_path / "s"), "2", "e"], check=False)
    assert out.returncode != 0 and "missing or empty" in out.stderr
